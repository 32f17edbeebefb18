// What each part of a watcher's work costs the PostgreSQL server, in CPU microseconds
// (docs/benchmarks.md §6, issue 10). Server CPU = the postmaster's utime+stime+cutime+cstime
// (exited backends are reaped by it) plus every live child's own, from /proc, around N repeats.
//   parts POSTMASTER_PID CONNINFO HOLDERS_SQL_FILE [N]
// Fresh sessions: a refused login (a role that does not exist, as monit's default test),
// a login (startup, authentication, Terminate), a login + SELECT 1 (pgvigil's liveness check).
// On one open session: the connections (holders) query as text with a literal pid that changes
// every time (parsed and planned each time), the same prepared once and executed with $1, and
// SELECT 1. HOLDERS_SQL_FILE holds the query as pgvigil prepares it, the pid as `$1::integer`
// (bench/server_cpu/run.sh reads it from pg_stat_activity while pgvigil runs). Three
// interleaved repeats of everything.
#include <dirent.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long long ticks_of(const char* pid, int children) {
  char path[64], buf[1024], *save = NULL;
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  if (!p) return 0;
  long long v[16] = {0};
  int i = 0;
  for (char* tok = strtok_r(p + 2, " ", &save); tok && i < 16; tok = strtok_r(NULL, " ", &save))
    v[i++] = atoll(tok);
  // fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 counted from field 3
  return v[11] + v[12] + (children ? v[13] + v[14] : 0);
}

static long long server_ticks(const char* pm) {
  long long t = ticks_of(pm, 1);
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/task", pm);
  DIR* d = opendir(path);
  struct dirent* e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char cp[300], buf[4096], *save = NULL;
    snprintf(cp, sizeof cp, "/proc/%s/task/%s/children", pm, e->d_name);
    FILE* f = fopen(cp, "r");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    for (char* tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
      t += ticks_of(tok, 1);
  }
  if (d) closedir(d);
  return t;
}

static void must(PGresult* r, ExecStatusType want, PGconn* c) {
  if (PQresultStatus(r) != want) {
    fprintf(stderr, "parts: %s", PQerrorMessage(c));
    exit(1);
  }
  PQclear(r);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: parts POSTMASTER_PID CONNINFO HOLDERS_SQL_FILE [N]\n");
    return 2;
  }
  const char *pm = argv[1], *conninfo = argv[2];
  const int n = argc > 4 ? atoi(argv[4]) : 300;
  static char prepared[16384], sql[16400];
  FILE* f = fopen(argv[3], "r");
  if (!f) return perror(argv[3]), 2;
  prepared[fread(prepared, 1, sizeof prepared - 1, f)] = 0;
  fclose(f);
  // the text form: $1::integer becomes a literal pid, a new one every time
  const char* param = "$1::integer";
  char* mark = strstr(prepared, param);
  if (!mark) return fprintf(stderr, "parts: no %s in the query\n", param), 2;
  const double us = 1e6 / sysconf(_SC_CLK_TCK) / n;
  char refused[1200];
  snprintf(refused, sizeof refused, "%s user=no_such_role_pgvigil_bench", conninfo);

  for (int rep = 1; rep <= 3; rep++) {
    for (int mode = 0; mode < 3; mode++) {  // fresh sessions
      long long a = server_ticks(pm);
      for (int i = 0; i < n; i++) {
        PGconn* c = PQconnectdb(mode == 0 ? refused : conninfo);
        if (mode > 0 && PQstatus(c) != CONNECTION_OK)
          return fprintf(stderr, "parts: %s", PQerrorMessage(c)), 1;
        if (mode == 2) must(PQexec(c, "SELECT 1"), PGRES_TUPLES_OK, c);
        PQfinish(c);
      }
      usleep(300000);  // let the last backends exit and be reaped
      const char* name[] = {"fresh: refused login", "fresh: login", "fresh: login + SELECT 1"};
      printf("%-32s rep %d: %6.0f us\n", name[mode], rep, (server_ticks(pm) - a) * us);
      fflush(stdout);
    }
    PGconn* c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) return fprintf(stderr, "parts: %s", PQerrorMessage(c)), 1;
    must(PQprepare(c, "h", prepared, 0, NULL), PGRES_COMMAND_OK, c);
    for (int mode = 0; mode < 3; mode++) {  // one open session
      long long a = server_ticks(pm);
      for (int i = 0; i < n; i++) {
        char pid[16];
        snprintf(pid, sizeof pid, "%d", 100000 + i);
        const char* values[1] = {pid};
        if (mode == 0) {
          snprintf(sql, sizeof sql, "%.*s%d%s", (int)(mark - prepared), prepared, 100000 + i,
                   mark + strlen(param));
          must(PQexec(c, sql), PGRES_TUPLES_OK, c);
        } else if (mode == 1) {
          must(PQexecPrepared(c, "h", 1, values, NULL, NULL, 0), PGRES_TUPLES_OK, c);
        } else {
          must(PQexec(c, "SELECT 1"), PGRES_TUPLES_OK, c);
        }
      }
      const char* name[] = {"session: holders query as text", "session: holders query prepared",
                            "session: SELECT 1"};
      printf("%-32s rep %d: %6.0f us\n", name[mode], rep, (server_ticks(pm) - a) * us);
      fflush(stdout);
    }
    PQfinish(c);
  }
  return 0;
}
