#include <iostream>

#include "pgvigil/version.h"

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::cout << "pgvigil " << pgvigil::kVersion << "\n";
  return 0;
}
