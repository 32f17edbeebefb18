// The floor for the idle-RSS benchmark: a C program that links Debian's libpq (and through it
// Kerberos, LDAP, GnuTLS, OpenSSL) and does nothing else. Any libpq-based agent pays this.
//   cc -O2 libpq_floor.c -I/usr/include/postgresql -lpq -o libpq_floor && ./libpq_floor
#include <libpq-fe.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("libpq %d\n", PQlibVersion());
  fflush(stdout);
  pause();  // until a signal ends it
  return 0;
}
