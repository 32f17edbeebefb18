// The system headers that define the socket address structures (sockaddr_in, sockaddr_in6,
// sockaddr_un, AF_*, SOCK_*), for the probe files that build addresses themselves. Internal to
// the probes layer; the calls themselves go through net.h.
#pragma once

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
// sockaddr_un: Windows 10 1803 and later have AF_UNIX stream sockets (PostgreSQL 13+ listens on
// them when unix_socket_directories is set).
#include <afunix.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#endif
