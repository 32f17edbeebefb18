// What each part of a watcher's work costs the PostgreSQL server, in CPU microseconds
// (docs/benchmarks.md §6, issue 10).
//   parts POSTMASTER_PID CONNINFO HOLDERS_SQL_FILE [N] [REPEATS]
// Fresh sessions, N of each (default 1000), their server CPU = the postmaster's
// utime+stime+cutime+cstime (exited backends are reaped by it) plus every live child's own, from
// /proc (clock ticks):
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
// REPEATS (default 5, at most 15) interleaved repeats of everything; prints each and the medians
// (for an even REPEATS, the upper of the two middle values).
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

// The fresh-session kinds: what each adds to CONNINFO, and what it sends after the login.
// pgvigil's parameters are those src/probes/conninfo.cpp buildConnectParams makes for the bench's
// target (its `timeout: 800ms`).
#define PGVIGIL_PARAMS                                                             \
  "application_name=pgvigil connect_timeout=2 options='-c statement_timeout=800' " \
  "gssencmode=disable"
static const struct {
  const char* name;
  const char* params;
  int select1;  // sends SELECT 1
  int holders;  // then the holders query as text, its own pid excluded
} kFreshKind[] = {
    {"fresh: refused login (monit's default)", "user=no_such_role_pgvigil_bench sslmode=disable", 0,
     0},
    {"fresh: login as monit sends it", "sslmode=disable gssencmode=disable", 0, 0},
    {"fresh: the same + SSLRequest", "sslmode=prefer gssencmode=disable", 0, 0},
    {"fresh: login as pgvigil sends it", PGVIGIL_PARAMS, 0, 0},
    {"fresh: monit's login + SELECT 1", "sslmode=disable gssencmode=disable", 1, 0},
    {"fresh: pgvigil's login + SELECT 1", PGVIGIL_PARAMS, 1, 0},
    {"fresh: + holders (monitoring_session off)", PGVIGIL_PARAMS, 1, 1},
};
enum { kFresh = sizeof kFreshKind / sizeof kFreshKind[0], kParts = kFresh + 3, kMaxRepeats = 15 };
static const char* const kSessionName[] = {
    "session: holders query as text",
    "session: holders query prepared",
    "session: SELECT 1",
};

static const char* name_of(int mode) {
  return mode < kFresh ? kFreshKind[mode].name : kSessionName[mode - kFresh];
}

// The holders statement as text, `$1::integer` replaced by a literal pid.
static const char* kParam = "$1::integer";
static const char* with_pid(const char* prepared, const char* mark, int pid) {
  static char sql[16400];
  snprintf(sql, sizeof sql, "%.*s%d%s", (int)(mark - prepared), prepared, pid,
           mark + strlen(kParam));
  return sql;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: parts POSTMASTER_PID CONNINFO HOLDERS_SQL_FILE [N] [REPEATS]\n");
    return 2;
  }
  const char *pm = argv[1], *conninfo = argv[2];
  const int n = argc > 4 ? atoi(argv[4]) : 1000;
  const int repeats = argc > 5 ? atoi(argv[5]) : 5;
  if (repeats < 1 || repeats > kMaxRepeats || n < 1)
    return fprintf(stderr, "parts: bad N or REPEATS (1-%d)\n", kMaxRepeats), 2;
  static char prepared[16384];
  FILE* f = fopen(argv[3], "r");
  if (!f) return perror(argv[3]), 2;
  prepared[fread(prepared, 1, sizeof prepared - 1, f)] = 0;
  fclose(f);
  // the text form: $1::integer becomes a literal pid, a new one every time
  const char* mark = strstr(prepared, kParam);
  if (!mark) return fprintf(stderr, "parts: no %s in the query\n", kParam), 2;
  const double tick_us = 1e6 / sysconf(_SC_CLK_TCK) / n;
  char fresh[kFresh][1400];
  for (int k = 0; k < kFresh; k++)
    snprintf(fresh[k], sizeof fresh[k], "%s %s", conninfo, kFreshKind[k].params);
  double us[kParts][kMaxRepeats];

  for (int rep = 0; rep < repeats; rep++) {
    for (int mode = 0; mode < kFresh; mode++) {
      long long a = server_ticks(pm);
      for (int i = 0; i < n; i++) {
        PGconn* c = PQconnectdb(fresh[mode]);
        if (mode > 0 && PQstatus(c) != CONNECTION_OK)
          return fprintf(stderr, "parts: %s", PQerrorMessage(c)), 1;
        if (kFreshKind[mode].select1) must(PQexec(c, "SELECT 1"), PGRES_TUPLES_OK, c);
        if (kFreshKind[mode].holders)
          must(PQexec(c, with_pid(prepared, mark, PQbackendPID(c))), PGRES_TUPLES_OK, c);
        PQfinish(c);
      }
      usleep(300000);  // let the last backends exit and be reaped
      us[mode][rep] = (server_ticks(pm) - a) * tick_us;
      printf("%-40s rep %d: %6.0f us\n", name_of(mode), rep + 1, us[mode][rep]);
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
          must(PQexec(c, with_pid(prepared, mark, 100000 + i)), PGRES_TUPLES_OK, c);
        } else if (mode == kFresh + 1) {
          must(PQexecPrepared(c, "h", 1, values, NULL, NULL, 0), PGRES_TUPLES_OK, c);
        } else {
          must(PQexec(c, "SELECT 1"), PGRES_TUPLES_OK, c);
        }
      }
      us[mode][rep] = (backend_ns(backend) - a) / 1e3 / n;
      printf("%-40s rep %d: %6.0f us\n", name_of(mode), rep + 1, us[mode][rep]);
      fflush(stdout);
    }
    PQfinish(c);
  }
  printf("\nmedians of %d interleaved repeats of %d, us of server CPU each:\n", repeats, n);
  for (int mode = 0; mode < kParts; mode++) {
    qsort(us[mode], repeats, sizeof us[mode][0], cmp);
    printf("  %-40s %6.0f  (%0.f-%0.f)\n", name_of(mode), us[mode][repeats / 2], us[mode][0],
           us[mode][repeats - 1]);
  }
  return 0;
}
