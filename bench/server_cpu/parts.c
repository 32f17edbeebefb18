// What each part of a watcher's work costs the PostgreSQL server, in CPU microseconds
// (docs/benchmarks.md §6, issue 10).
//   parts POSTMASTER_PID CONNINFO HOLDERS_SQL_FILE [N] [REPEATS]
// Fresh sessions, N of each, their server CPU = the postmaster's utime+stime+cutime+cstime
// (exited backends are reaped by it) plus every live child's own, from /proc (clock ticks):
//   - a refused login (a role that does not exist: monit's default test logs in as root);
//   - a login as monit sends it: user and database only, no SSLRequest, then Terminate;
//   - the same with libpq's SSLRequest first (sslmode prefer, libpq's default);
//   - a login as pgvigil sends it: the SSLRequest, the application_name,
//     `options=-c statement_timeout=…`, gssencmode=disable, then Terminate;
//   - monit's login + `SELECT 1`: what the query alone adds to a fresh backend;
//   - pgvigil's login + `SELECT 1`: pgvigil's liveness check, the whole fresh session of a round;
//   - the same + the connections query as text: a round with `monitoring_session: false`, where
//     that query runs on the fresh backend.
// On one open session, the CPU of its backend alone, from /proc/PID/schedstat (nanoseconds):
// the connections (holders) query as text with a literal pid that changes every time (parsed
// and planned each time), the same prepared once and executed with $1 (what pgvigil does each
// round), and SELECT 1. HOLDERS_SQL_FILE holds the query as pgvigil prepares it, the pid as
// `$1::integer` (bench/server_cpu/run.sh reads it from pg_stat_activity while pgvigil runs).
// REPEATS (default 5) interleaved repeats of everything; prints each and the medians.
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

// The CPU time one process has run, in nanoseconds (the first field of schedstat).
static long long backend_ns(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
  FILE* f = fopen(path, "r");
  long long v = 0;
  if (f) {
    if (fscanf(f, "%lld", &v) != 1) v = 0;
    fclose(f);
  }
  return v;
}

static void must(PGresult* r, ExecStatusType want, PGconn* c) {
  if (PQresultStatus(r) != want) {
    fprintf(stderr, "parts: %s", PQerrorMessage(c));
    exit(1);
  }
  PQclear(r);
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

enum { kFresh = 7, kParts = kFresh + 3, kMaxRepeats = 15 };
static const char* const kName[kParts] = {
    "fresh: refused login (monit's default)",
    "fresh: login as monit sends it",
    "fresh: the same + SSLRequest",
    "fresh: login as pgvigil sends it",
    "fresh: monit's login + SELECT 1",
    "fresh: pgvigil's login + SELECT 1",
    "fresh: + holders (monitoring_session off)",
    "session: holders query as text",
    "session: holders query prepared",
    "session: SELECT 1",
};

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: parts POSTMASTER_PID CONNINFO HOLDERS_SQL_FILE [N] [REPEATS]\n");
    return 2;
  }
  const char *pm = argv[1], *conninfo = argv[2];
  const int n = argc > 4 ? atoi(argv[4]) : 300;
  int repeats = argc > 5 ? atoi(argv[5]) : 5;
  if (repeats < 1 || repeats > kMaxRepeats || n < 1) return fprintf(stderr, "parts: bad N\n"), 2;
  static char prepared[16384], sql[16400];
  FILE* f = fopen(argv[3], "r");
  if (!f) return perror(argv[3]), 2;
  prepared[fread(prepared, 1, sizeof prepared - 1, f)] = 0;
  fclose(f);
  // the text form: $1::integer becomes a literal pid, a new one every time
  const char* param = "$1::integer";
  char* mark = strstr(prepared, param);
  if (!mark) return fprintf(stderr, "parts: no %s in the query\n", param), 2;
  const double tick_us = 1e6 / sysconf(_SC_CLK_TCK) / n;
  char fresh[kFresh][1400];
  const int query[kFresh] = {0, 0, 0, 0, 1, 1, 1};  // which ones send SELECT 1 after the login
  snprintf(fresh[0], sizeof fresh[0], "%s user=no_such_role_pgvigil_bench sslmode=disable",
           conninfo);
  snprintf(fresh[1], sizeof fresh[1], "%s sslmode=disable gssencmode=disable", conninfo);
  snprintf(fresh[2], sizeof fresh[2], "%s sslmode=prefer gssencmode=disable", conninfo);
  // as src/probes/conninfo.cpp buildConnectParams makes them for the bench's target
  snprintf(fresh[3], sizeof fresh[3],
           "%s application_name=pgvigil connect_timeout=2 "
           "options='-c statement_timeout=800' gssencmode=disable",
           conninfo);
  snprintf(fresh[4], sizeof fresh[4], "%s", fresh[1]);
  snprintf(fresh[5], sizeof fresh[5], "%s", fresh[3]);
  snprintf(fresh[6], sizeof fresh[6], "%s", fresh[3]);
  double us[kParts][kMaxRepeats];

  for (int rep = 0; rep < repeats; rep++) {
    for (int mode = 0; mode < kFresh; mode++) {
      long long a = server_ticks(pm);
      for (int i = 0; i < n; i++) {
        PGconn* c = PQconnectdb(fresh[mode]);
        if (mode > 0 && PQstatus(c) != CONNECTION_OK)
          return fprintf(stderr, "parts: %s", PQerrorMessage(c)), 1;
        if (query[mode]) must(PQexec(c, "SELECT 1"), PGRES_TUPLES_OK, c);
        if (mode == 6) {  // as the fresh session sends it: the text, its own pid excluded
          snprintf(sql, sizeof sql, "%.*s%d%s", (int)(mark - prepared), prepared, PQbackendPID(c),
                   mark + strlen(param));
          must(PQexec(c, sql), PGRES_TUPLES_OK, c);
        }
        PQfinish(c);
      }
      usleep(300000);  // let the last backends exit and be reaped
      us[mode][rep] = (server_ticks(pm) - a) * tick_us;
      printf("%-40s rep %d: %6.0f us\n", kName[mode], rep + 1, us[mode][rep]);
      fflush(stdout);
    }
    PGconn* c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) return fprintf(stderr, "parts: %s", PQerrorMessage(c)), 1;
    const int backend = PQbackendPID(c);
    must(PQprepare(c, "h", prepared, 0, NULL), PGRES_COMMAND_OK, c);
    for (int mode = kFresh; mode < kParts; mode++) {
      long long a = backend_ns(backend);
      for (int i = 0; i < n; i++) {
        char pid[16];
        snprintf(pid, sizeof pid, "%d", 100000 + i);
        const char* values[1] = {pid};
        if (mode == kFresh) {
          snprintf(sql, sizeof sql, "%.*s%d%s", (int)(mark - prepared), prepared, 100000 + i,
                   mark + strlen(param));
          must(PQexec(c, sql), PGRES_TUPLES_OK, c);
        } else if (mode == kFresh + 1) {
          must(PQexecPrepared(c, "h", 1, values, NULL, NULL, 0), PGRES_TUPLES_OK, c);
        } else {
          must(PQexec(c, "SELECT 1"), PGRES_TUPLES_OK, c);
        }
      }
      us[mode][rep] = (backend_ns(backend) - a) / 1e3 / n;
      printf("%-40s rep %d: %6.0f us\n", kName[mode], rep + 1, us[mode][rep]);
      fflush(stdout);
    }
    PQfinish(c);
  }
  printf("\nmedians of %d interleaved repeats of %d, us of server CPU each:\n", repeats, n);
  for (int mode = 0; mode < kParts; mode++) {
    qsort(us[mode], repeats, sizeof us[mode][0], cmp);
    printf("  %-40s %6.0f  (%0.f-%0.f)\n", kName[mode], us[mode][repeats / 2], us[mode][0],
           us[mode][repeats - 1]);
  }
  return 0;
}
