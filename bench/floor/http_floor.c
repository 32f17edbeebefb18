// The floor for the status-endpoint latency benchmark: a minimal single-threaded epoll
// HTTP/1.1 server that answers every request with the same /livez-sized body and does nothing
// else. What wrk measures against it on a machine is what the machine and the load generator
// allow; pgvigil's numbers are read against it (docs/benchmarks.md).
//   cc -O2 http_floor.c -o http_floor && ./http_floor PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: http_floor PORT\n");
    return 2;
  }
  int one = 1;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(listener, 128) != 0) {
    perror("http_floor: bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  static const char resp[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 69\r\n"
      "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\n"
      "{\"status\":\"ok\",\"checked_at\":\"2026-11-22T16:54:36.833Z\",\"stale\":false}";
  struct epoll_event events[64];
  char buf[8192];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        int c;
        while ((c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event e = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
        }
        continue;
      }
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        close(fd);
        continue;
      }
      for (ssize_t k = 0; k + 3 < r; k++)  // one answer per request in the buffer (pipelining)
        if (memcmp(buf + k, "\r\n\r\n", 4) == 0) send(fd, resp, sizeof resp - 1, MSG_NOSIGNAL);
    }
  }
}
