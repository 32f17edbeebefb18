#!/usr/bin/env python3
"""pgvigil's agent side by side with the peers a user would pick instead, in one run.

    sudo python3 bench/agent/bench.py BUILD_DIR [--quick]

One throwaway PostgreSQL 15 cluster on a free loopback port, watched in turn by
  * pgvigil run        (interval 1s, unhealthy_after 2, restart.method command: scripts/pg-restart)
  * monit              (1 s cycle, `protocol pgsql` test + pidfile, start program pg_ctl start)
  * postgres_exporter  (footprint and scrape throughput only: it does not restart)
and measured: kill -9 to restart command and to SELECT 1 working again (5 trials each), a
SIGSTOPped postmaster, a saturated server, a standby in recovery, idle RSS/CPU, log lines caused in postgres.log,
HTTP throughput with wrk, and pgvigil with 1,000 targets (readers: /health and /status with 1 and
with 1,000 targets, the agent's CPU at 1,000). Prints a Markdown report and writes
bench/results/agent.json. Everything it starts is stopped at the end (also on Ctrl-C).

    sudo python3 bench/agent/bench.py BUILD_DIR --only readers [--quick]

runs the readers section alone (about 3 minutes) and writes bench/results/readers.json.
Run as root: the cluster runs as the postgres user, and this script is a child subreaper so a
killed postmaster is reaped (this machine's PID 1 does not reap orphans).
"""
import ctypes, json, os, pwd, re, shutil, signal, socket, statistics, subprocess, sys, tempfile
import threading, time, urllib.request

BIN = "/usr/lib/postgresql/15/bin"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = "--quick" in sys.argv
TRIALS = 3 if QUICK else 5
STANDBY_S = 15 if QUICK else 30  # how long a standby in recovery is watched
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv[:-1] else None
READERS_WRK_S = 5 if QUICK else 10  # wrk -d for each readers run, the same for both sizes
READERS_CPU_S = 30 if QUICK else 60  # the window over which the 1,000-target agent's CPU is taken
procs = []  # (name, Popen) started here, stopped at the end


def subreaper():
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    me = str(os.getpid())

    def reap():
        while True:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        line = f.read()
                except OSError:
                    continue
                rest = line[line.rfind(")") + 2:].split()
                comm = line[line.find("(") + 1:line.rfind(")")]
                if rest[0] == "Z" and rest[1] == me and comm == "postgres":
                    try:
                        os.waitpid(int(pid), os.WNOHANG)
                    except ChildProcessError:
                        pass
            time.sleep(0.05)
    threading.Thread(target=reap, daemon=True).start()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(*argv, check=True, **kw):
    return subprocess.run(list(argv), check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


class Cluster:
    def __init__(self, tmp, settings=()):
        self.dir = tempfile.mkdtemp(dir=tmp, prefix="pg-")
        pw = pwd.getpwnam("postgres")
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data, self.log, self.port = self.dir + "/data", self.dir + "/postgres.log", free_port()
        self.opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 " + " ".join(f"-c {s}" for s in settings)
        run("runuser", "-u", "postgres", "--", f"{BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-N")
        self.start()

    def as_pg(self, *argv, check=True):
        return run("runuser", "-u", "postgres", "--", *argv, check=check)

    def start(self):
        self.as_pg(f"{BIN}/pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "30", "-o", self.opts)

    def make_standby(self):
        """Restart as a standby with hot_standby=off and no primary: in recovery for ever, every
        connection refused with 57P03 "the database system is not accepting connections"."""
        self.stop()
        with open(self.data + "/standby.signal", "w"):
            pass
        self.opts += " -c hot_standby=off"
        self.start()

    def stop(self):
        self.as_pg(f"{BIN}/pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "30", check=False)

    def pid(self):
        try:
            with open(self.data + "/postmaster.pid") as f:
                pid = int(f.readline())
            return pid if os.readlink(f"/proc/{pid}/cwd") == self.data else 0
        except (OSError, ValueError):
            return 0

    def select1(self):
        r = run(f"{BIN}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                "-Atc", "select 1", check=False, env={**os.environ, "PGCONNECT_TIMEOUT": "2"})
        return r.returncode == 0 and r.stdout.strip() == "1"

    def wait_up(self, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if self.select1():
                return True
            time.sleep(0.05)
        return False

    def log_lines(self):
        with open(self.log, errors="replace") as f:
            return f.read().splitlines()


def start(name, argv, **kw):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, **kw)
    procs.append((name, p))
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()  # drain
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def rss_cpu(pid, seconds):
    hz = os.sysconf("SC_CLK_TCK")

    def ticks():
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    t0, c0 = time.time(), ticks()
    time.sleep(seconds)
    t1, c1 = time.time(), ticks()
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
    return rss, 100.0 * (c1 - c0) / hz / (t1 - t0)


def parse_wrk(out):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    ms = None
    if p99:
        ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return (float(rps.group(1)) if rps else 0.0), ms


def wrk(url, seconds=5, cpus=None):
    pin = ["taskset", "-c", cpus] if cpus else []
    return parse_wrk(run(*pin, "wrk", "-t2", "-c10", f"-d{seconds}s", "--latency", url, check=False).stdout)


def floors(tmp):
    """What the machine allows: RSS of a C program that only links libpq, and wrk against a
    minimal epoll server with a constant answer (bench/floor/)."""
    out = {}
    run("cc", "-O2", f"{ROOT}/bench/floor/libpq_floor.c", "-I/usr/include/postgresql", "-lpq", "-o", f"{tmp}/libpq_floor")
    run("cc", "-O2", f"{ROOT}/bench/floor/http_floor.c", "-o", f"{tmp}/http_floor")
    p = start("libpq_floor", [f"{tmp}/libpq_floor"])
    time.sleep(1)
    out["libpq_rss_mb"] = rss_cpu(p.pid, 1)[0]
    stop(p)
    port = free_port()
    h = start("http_floor", [f"{tmp}/http_floor", str(port)])
    time.sleep(0.3)
    out["http"] = wrk(f"http://127.0.0.1:{port}/livez")
    stop(h)
    return out


def restart_wrapper(tmp, name, cmd):
    path = f"{tmp}/restart-{name}.sh"
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\ndate +%s.%N >> {tmp}/restarts-{name}\n{cmd}\n")
    os.chmod(path, 0o755)
    return path, f"{tmp}/restarts-{name}"


def restarts(path):
    try:
        with open(path) as f:
            return [float(x) for x in f.read().split()]
    except OSError:
        return []


def kill_trials(pg, name, stamps):
    out = []
    for _ in range(TRIALS):
        assert pg.wait_up(), "cluster not up before a trial"
        time.sleep(2.5)  # steady state: the watcher's cycle and monitoring connection are settled
        before = len(restarts(stamps))
        pid = pg.pid()
        t0 = time.time()
        os.kill(pid, signal.SIGKILL)
        while not pg.select1():
            if time.time() - t0 > 60:
                break
            time.sleep(0.01)
        t1 = time.time()
        r = restarts(stamps)
        detect = (r[before] - t0) if len(r) > before else None
        out.append({"restart_command_after_s": detect, "select1_after_s": t1 - t0, "restarts": len(r) - before})
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pgvigil_config(tmp, pg, restart_cmd, listen, extra=""):
    path = f"{tmp}/pgvigil.yaml"
    with open(path, "w") as f:
        f.write(f"""agent:
  listen: "{listen}"
  state_dir: {tmp}/pgvigil-state
  log: {{ output: stdout }}
targets:
  - name: main
    conninfo: "host=127.0.0.1 port={pg.port} dbname=postgres user=postgres"
    interval: 1s
    timeout: 800ms
    unhealthy_after: 2
    healthy_after: 1
    restart:
      method: command
      command: ["{restart_cmd}"]
      backoff: {{ initial: 1s, max: 10s }}
      budget: {{ max: 100, window: 1h }}
      hang_after: 10s
{extra}""")
    return path


def monit_config(tmp, pg, restart_cmd, port):
    path = f"{tmp}/monitrc"
    with open(path, "w") as f:
        f.write(f"""set daemon 1
set logfile {tmp}/monit.log
set pidfile {tmp}/monit.pid
set idfile {tmp}/monit.id
set statefile {tmp}/monit.state
set httpd port {port} and use address 127.0.0.1
    allow 127.0.0.1
check process pg with pidfile {pg.data}/postmaster.pid
    start program = "{restart_cmd}" with timeout 60 seconds
    stop program = "/usr/sbin/runuser -u postgres -- {BIN}/pg_ctl stop -D {pg.data} -m fast -w"
    if failed host 127.0.0.1 port {pg.port} protocol pgsql then restart
""")
    os.chmod(path, 0o600)
    return path


def wait_http(url, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except Exception as e:  # noqa: BLE001 - any answer, even 503, means it is up
            if hasattr(e, "code"):
                return True
            time.sleep(0.1)
    return False


def scenario_hung(pg, seconds):
    """SIGSTOP the postmaster; did the watcher restart it within `seconds`, and does it answer?"""
    pid = pg.pid()
    os.kill(pid, signal.SIGSTOP)
    t0 = time.time()
    cured = None
    while time.time() - t0 < seconds:
        if pg.pid() != pid and pg.select1():
            cured = time.time() - t0
            break
        time.sleep(0.25)
    if cured is None:  # not cured: put it back as it was
        os.kill(pid, signal.SIGCONT)
    return cured


def scenario_saturated(pg, seconds):
    """Fill every slot with idle superuser sessions; was the server restarted (sessions killed)?"""
    pid = pg.pid()
    holders = [subprocess.Popen([f"{BIN}/psql", "-h", pg.dir, "-p", str(pg.port), "-U", "postgres", "-d", "postgres",
                                 "-c", "select pg_sleep(600)"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(20)]
    time.sleep(seconds)
    killed = sum(1 for h in holders if h.poll() is not None)
    restarted = pg.pid() != pid
    for h in holders:
        h.kill()
        h.wait()
    return {"restarted": restarted, "sessions_killed": killed, "sessions": len(holders)}


def scenario_standby(pg, seconds):
    """The cluster is a standby in recovery (hot_standby=off): was it restarted within `seconds`?"""
    pid = pg.pid()
    time.sleep(seconds)
    return {"restarted": pg.pid() != pid, "seconds": seconds}


def standby_run(tmp, name, start_watcher, seconds):
    """A standby cluster of its own, watched for `seconds` by the process that
    `start_watcher(pg, restart_cmd)` returns with a function saying what the watcher reports."""
    sb = Cluster(tmp)
    try:
        sb.make_standby()
        restart_sb = f"{ROOT}/scripts/pg-restart --fast-timeout 5 --immediate-timeout 3 {sb.data} -l {sb.log} -o \"{sb.opts}\""
        wrapper, stamps = restart_wrapper(tmp, f"{name}-standby", restart_sb)
        watcher, observe = start_watcher(sb, wrapper)
        time.sleep(2)  # the watcher's first rounds
        r = scenario_standby(sb, seconds)
        r["restart_commands"] = len(restarts(stamps))
        r["reported"] = observe()
        stop(watcher)
        return r
    finally:
        sb.stop()


def notice_trials(tmp, pg, pgvigil, restart_cmd, interval="60s"):
    """kill -9 -> /health 503 with a long interval (the notice cannot come from a round):
    a fresh agent per trial (restart method none), killed once its monitoring connection is up."""
    out = []
    for i in range(TRIALS):
        assert pg.wait_up(), "cluster not up before a trial"
        port = free_port()
        d = f"{tmp}/notice-{i}"
        os.makedirs(d)
        path = f"{d}/pgvigil.yaml"
        with open(path, "w") as f:
            f.write(f"""agent:
  listen: "127.0.0.1:{port}"
  state_dir: {d}/state
  log: {{ output: stdout }}
targets:
  - name: main
    conninfo: "host=127.0.0.1 port={pg.port} dbname=postgres user=postgres"
    interval: {interval}
    timeout: 2s
    unhealthy_after: 2
""")
        agent = start("pgvigil-notice", [pgvigil, "run", "-c", path])
        url = f"http://127.0.0.1:{port}/health"

        def status():
            try:
                return urllib.request.urlopen(url, timeout=1).status
            except Exception as e:  # noqa: BLE001 - 503 comes as HTTPError
                return getattr(e, "code", 0)
        end = time.time() + 20
        while status() != 200 and time.time() < end:
            time.sleep(0.05)
        watched = "select count(*) from pg_stat_activity where application_name = 'pgvigil' and state = 'idle'"
        while time.time() < end:
            r = run(f"{BIN}/psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-d", "postgres", "-Atc", watched, check=False)
            if r.stdout.strip() not in ("", "0"):
                break
            time.sleep(0.05)
        t0 = time.time()
        os.kill(pg.pid(), signal.SIGKILL)
        while status() != 503 and time.time() - t0 < 10:
            time.sleep(0.002)
        out.append(time.time() - t0)
        stop(agent)
        run("sh", "-c", restart_cmd)  # waits for the old backends to be gone, then starts
    return out


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wrk_full(url, seconds):
    """wrk -t2 -c10 with --latency: (req/s, p99 ms, bytes/s)."""
    out = run("wrk", "-t2", "-c10", f"-d{seconds}s", "--latency", url, check=False).stdout
    rps, p99 = parse_wrk(out)
    m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", out)
    bps = float(m.group(1)) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[m.group(2)] if m else None
    return {"rps": rps, "p99_ms": p99, "bytes_per_s": bps, "load1": os.getloadavg()[0]}


def targets_config(d, pg, n, port):
    os.makedirs(d, exist_ok=True)
    targets = "".join(f"""  - name: t{i}
    conninfo: "host=127.0.0.1 port={pg.port} dbname=postgres user=postgres"
    interval: 10s
    timeout: 3s
""" for i in range(n))
    path = f"{d}/pgvigil.yaml"
    with open(path, "w") as f:
        f.write(f"agent:\n  listen: \"127.0.0.1:{port}\"\n  state_dir: {d}/state\n  log: {{ output: stdout }}\ntargets:\n{targets}")
    return path


def all_rounds_done(port, n):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as resp:
            ts = json.load(resp)["targets"]
    except Exception:  # noqa: BLE001 - not up yet
        return False
    return len(ts) == n and all(t.get("last_round") for t in ts)


def readers(tmp, pgvigil):
    """pgvigil with 1 and with 1,000 targets at 10 s on one cluster, both agents running for the
    whole section so that each pair of figures is taken under the same conditions: the
    1,000-target agent's CPU over a fixed window (no HTTP load), then wrk on /health and /status,
    ABBA (1, 1000, 1000, 1) so that a load change on the shared machine falls on both sizes."""
    big = Cluster(tmp, ["max_connections=1200", "shared_buffers=64MB"])
    agents = {}
    try:
        for n in (1, 1000):
            port = free_port()
            agents[n] = (start(f"pgvigil-{n}", [pgvigil, "run", "-c", targets_config(f"{tmp}/readers-{n}", big, n, port)]), port)
        for n, (_, port) in agents.items():
            assert wait_http(f"http://127.0.0.1:{port}/livez")
        end = time.time() + 60
        while not all(all_rounds_done(port, n) for n, (_, port) in agents.items()) and time.time() < end:
            time.sleep(1)
        time.sleep(12)  # every target past its first round and its monitoring connection open
        out = {"wrk": f"-t2 -c10 -d{READERS_WRK_S}s", "cpu_window_s": READERS_CPU_S}
        pids = {n: p.pid for n, (p, _) in agents.items()}
        load0 = os.getloadavg()
        t0, c0 = time.time(), {n: cpu_ticks(pid) for n, pid in pids.items()}
        time.sleep(READERS_CPU_S)
        t1, c1 = time.time(), {n: cpu_ticks(pid) for n, pid in pids.items()}
        hz = os.sysconf("SC_CLK_TCK")
        for n, pid in pids.items():
            with open(f"/proc/{pid}/status") as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
            out[f"idle_{n}"] = {"cpu_pct": 100.0 * (c1[n] - c0[n]) / hz / (t1 - t0), "rss_mb": rss}
        out["cpu_load"] = [load0[0], os.getloadavg()[0]]
        for ep in ("health", "status"):
            out[ep] = {}
            for n in (1, 1000):
                with urllib.request.urlopen(f"http://127.0.0.1:{agents[n][1]}/{ep}", timeout=10) as resp:
                    out[ep][n] = {"body_bytes": len(resp.read()), "runs": []}
            for n in (1, 1000, 1000, 1):
                out[ep][n]["runs"].append(wrk_full(f"http://127.0.0.1:{agents[n][1]}/{ep}", READERS_WRK_S))
            for n in (1, 1000):
                runs = out[ep][n]["runs"]
                out[ep][n]["rps"] = statistics.mean(x["rps"] for x in runs)
                out[ep][n]["p99_ms"] = max((x["p99_ms"] for x in runs if x["p99_ms"] is not None), default=None)
                bps = [x["bytes_per_s"] for x in runs if x["bytes_per_s"]]
                out[ep][n]["bytes_per_s"] = statistics.mean(bps) if bps else None
            out[ep]["ratio_1000_to_1"] = out[ep][1000]["rps"] / out[ep][1]["rps"] if out[ep][1]["rps"] else None
        return out
    finally:
        for p, _ in agents.values():
            stop(p)
        big.stop()


def print_readers(r):
    print(f"\n## Readers with 1 and with 1,000 targets at 10 s (wrk {r['wrk']}, ABBA, mean of 2 runs each)\n")
    print("| endpoint | body 1 / 1,000 targets | req/s 1 target | req/s 1,000 targets | ratio 1,000 / 1 | p99 1 / 1,000 (worst run) | MB/s 1 / 1,000 | load1 during runs |")
    print("|---|---|---:|---:|---:|---|---|---|")
    for ep in ("health", "status"):
        a, b = r[ep][1], r[ep][1000]
        loads = [x["load1"] for n in (1, 1000) for x in r[ep][n]["runs"]]
        mb = lambda x: fmt(x / 1024 ** 2 if x else None, nd=1)  # noqa: E731
        print(f"| /{ep} | {a['body_bytes']:,} / {b['body_bytes']:,} B | {fmt(a['rps'], nd=0)} | {fmt(b['rps'], nd=0)} | "
              f"{fmt(r[ep]['ratio_1000_to_1'])} | {fmt(a['p99_ms'], ' ms')} / {fmt(b['p99_ms'], ' ms')} | "
              f"{mb(a['bytes_per_s'])} / {mb(b['bytes_per_s'])} | {min(loads):.1f}–{max(loads):.1f} |")
    i1, i1000 = r["idle_1"], r["idle_1000"]
    print(f"\nAgent CPU over {r['cpu_window_s']} s, no HTTP load: 1,000 targets {fmt(i1000['cpu_pct'], '% of a core')} "
          f"(RSS {fmt(i1000['rss_mb'], ' MB', 1)}); 1 target {fmt(i1['cpu_pct'], '%')} (RSS {fmt(i1['rss_mb'], ' MB', 1)}); "
          f"load1 {r['cpu_load'][0]:.1f} at the start, {r['cpu_load'][1]:.1f} at the end")


def main():
    if os.geteuid() != 0:
        sys.exit("run as root (the cluster runs as postgres; monit needs root for pidfiles)")
    build = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else f"{ROOT}/build"
    pgvigil = f"{build}/src/app/pgvigil"
    subreaper()
    tmp = tempfile.mkdtemp(prefix="pgvigil-bench-")
    os.chmod(tmp, 0o755)
    report = {"machine": {"nproc": os.cpu_count(), "load": os.getloadavg()}, "trials": TRIALS}
    if ONLY == "readers":
        try:
            report["readers"] = readers(tmp, pgvigil)
        finally:
            for _, p in procs:
                stop(p)
            shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(f"{ROOT}/bench/results", exist_ok=True)
        with open(f"{ROOT}/bench/results/readers.json", "w") as f:
            json.dump(report, f, indent=2)
        print(f"# pgvigil readers (load {report['machine']['load'][0]:.1f} at the start)")
        print_readers(report["readers"])
        return
    if ONLY:
        sys.exit(f"--only {ONLY}: unknown section (readers)")
    pg = Cluster(tmp, ["max_connections=23", "superuser_reserved_connections=3"])
    try:
        restart_pg = f"{ROOT}/scripts/pg-restart --fast-timeout 5 --immediate-timeout 3 {pg.data} -l {pg.log} -o \"{pg.opts}\""
        start_pg = f"/usr/sbin/runuser -u postgres -- {BIN}/pg_ctl start -D {pg.data} -l {pg.log} -w -t 30 -o \"{pg.opts}\""

        # ---- pgvigil ------------------------------------------------------------------
        wrapper, stamps = restart_wrapper(tmp, "pgvigil", restart_pg)
        port = free_port()
        agent = start("pgvigil", [pgvigil, "run", "-c", pgvigil_config(tmp, pg, wrapper, f"127.0.0.1:{port}")])
        assert wait_http(f"http://127.0.0.1:{port}/livez")
        time.sleep(3)
        lines0 = len(pg.log_lines())
        rss, cpu = rss_cpu(agent.pid, 20 if QUICK else 60)
        report["pgvigil_idle"] = {"rss_mb": rss, "cpu_pct": cpu, "postgres_log_lines_per_min": (len(pg.log_lines()) - lines0) * (60 / (20 if QUICK else 60))}
        report["pgvigil_http"] = {"health": wrk(f"http://127.0.0.1:{port}/health"), "metrics": wrk(f"http://127.0.0.1:{port}/metrics")}
        # The same /health load with the agent and wrk on separate cores (taskset): what the
        # endpoint does when it does not share a core with the load generator.
        pinned = subprocess.run(["taskset", "-a", "-p", "-c", "1", str(agent.pid)], stdout=subprocess.DEVNULL)
        if pinned.returncode == 0:
            report["pgvigil_http"]["health_pinned"] = wrk(f"http://127.0.0.1:{port}/health", cpus="0")
            subprocess.run(["taskset", "-a", "-p", "-c", f"0-{os.cpu_count() - 1}", str(agent.pid)], stdout=subprocess.DEVNULL)
        report["pgvigil_kill9"] = kill_trials(pg, "pgvigil", stamps)
        # Let the agent confirm the last recovery first: a hang inside a restart's grace is
        # (by design) waited out for the whole grace before hang_after starts to count.
        time.sleep(3)
        report["pgvigil_hung_cured_after_s"] = scenario_hung(pg, 40)
        pg.wait_up()
        time.sleep(2)
        report["pgvigil_saturated"] = scenario_saturated(pg, 8)
        stop(agent)
        pg.wait_up()
        report["pgvigil_notice_60s_interval_s"] = notice_trials(tmp, pg, pgvigil, restart_pg)

        def pgvigil_on(sb, cmd):
            sport = free_port()
            os.makedirs(f"{tmp}/standby-pgvigil", exist_ok=True)
            a = start("pgvigil-standby", [pgvigil, "run", "-c", pgvigil_config(f"{tmp}/standby-pgvigil", sb, cmd, f"127.0.0.1:{sport}")])
            assert wait_http(f"http://127.0.0.1:{sport}/livez")

            def observe():
                with urllib.request.urlopen(f"http://127.0.0.1:{sport}/status", timeout=2) as resp:
                    t = json.load(resp)["targets"][0]
                return f"{t['state']} ({t['cause']})" if t.get("cause") else t["state"]
            return a, observe
        report["pgvigil_standby"] = standby_run(tmp, "pgvigil", pgvigil_on, STANDBY_S)

        # ---- monit --------------------------------------------------------------------
        wrapper, stamps = restart_wrapper(tmp, "monit", start_pg)
        mport = free_port()
        monit = start("monit", ["monit", "-I", "-c", monit_config(tmp, pg, wrapper, mport)])
        assert wait_http(f"http://127.0.0.1:{mport}/")
        time.sleep(3)
        lines0 = len(pg.log_lines())
        rss, cpu = rss_cpu(monit.pid, 20 if QUICK else 60)
        report["monit_idle"] = {"rss_mb": rss, "cpu_pct": cpu, "postgres_log_lines_per_min": (len(pg.log_lines()) - lines0) * (60 / (20 if QUICK else 60))}
        report["monit_http"] = {"status_page": wrk(f"http://127.0.0.1:{mport}/")}
        report["monit_kill9"] = kill_trials(pg, "monit", stamps)
        time.sleep(3)
        report["monit_hung_cured_after_s"] = scenario_hung(pg, 40)
        pg.wait_up()
        time.sleep(2)
        report["monit_saturated"] = scenario_saturated(pg, 8)
        stop(monit)

        def monit_on(sb, cmd):
            sport = free_port()
            os.makedirs(f"{tmp}/standby-monit", exist_ok=True)
            m = start("monit-standby", ["monit", "-I", "-c", monit_config(f"{tmp}/standby-monit", sb, cmd, sport)])
            assert wait_http(f"http://127.0.0.1:{sport}/")

            def observe():
                out = run("monit", "-c", f"{tmp}/standby-monit/monitrc", "summary", "pg", check=False).stdout
                line = next((x for x in out.splitlines() if x.strip().startswith("pg ")), "")
                return " ".join(line.split()[1:-1]) or out.strip()[-80:]
            return m, observe
        report["monit_standby"] = standby_run(tmp, "monit", monit_on, STANDBY_S)
        if not pg.pid():
            pg.start()
        pg.wait_up()

        # ---- postgres_exporter -----------------------------------------------------------
        eport = free_port()
        exporter = start("postgres_exporter", ["prometheus-postgres-exporter", f"--web.listen-address=127.0.0.1:{eport}"],
                         env={**os.environ, "DATA_SOURCE_NAME": f"host=127.0.0.1 port={pg.port} dbname=postgres user=postgres sslmode=disable"})
        assert wait_http(f"http://127.0.0.1:{eport}/metrics")
        time.sleep(3)
        rss, cpu = rss_cpu(exporter.pid, 20 if QUICK else 60)
        report["exporter_idle"] = {"rss_mb": rss, "cpu_pct": cpu}
        report["exporter_http"] = {"metrics": wrk(f"http://127.0.0.1:{eport}/metrics")}
        stop(exporter)

        report["floor"] = floors(tmp)

        # ---- readers and CPU with 1,000 targets at 10 s --------------------------------------
        pg.stop()
        report["readers"] = readers(tmp, pgvigil)
        r1000 = report["readers"]["idle_1000"]
        report["pgvigil_1000_targets"] = {"rss_mb": r1000["rss_mb"], "cpu_pct": r1000["cpu_pct"]}
    finally:
        for _, p in procs:
            stop(p)
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    os.makedirs(f"{ROOT}/bench/results", exist_ok=True)
    with open(f"{ROOT}/bench/results/agent.json", "w") as f:
        json.dump(report, f, indent=2)
    print_report(report)


def fmt(x, unit="", nd=2):
    return "—" if x is None else f"{x:.{nd}f}{unit}"


def print_report(r):
    def k9(name, key):
        return median([t[key] for t in r[f"{name}_kill9"]])
    print(f"# pgvigil vs monit vs postgres_exporter ({r['trials']} trials, load {r['machine']['load'][0]:.1f})\n")
    print("| | pgvigil | monit | postgres_exporter | ratio pgvigil/monit |")
    print("|---|---|---|---|---|")
    for label, key in (("kill -9 → restart command (median s)", "restart_command_after_s"),
                       ("kill -9 → SELECT 1 works (median s)", "select1_after_s")):
        a, b = k9("pgvigil", key), k9("monit", key)
        print(f"| {label} | {fmt(a)} | {fmt(b)} | — | {fmt(a / b if a and b else None)} |")
    print(f"| kill -9 → /health 503, interval 60 s, unhealthy_after 2 (median s) | {fmt(median(r['pgvigil_notice_60s_interval_s']), nd=3)} | — | — | |")
    print(f"| restarts per kill -9 (max) | {max(t['restarts'] for t in r['pgvigil_kill9'])} | {max(t['restarts'] for t in r['monit_kill9'])} | — | |")
    pi, mi, ei = r["pgvigil_idle"], r["monit_idle"], r["exporter_idle"]
    print(f"| idle RSS (MB) | {fmt(pi['rss_mb'], nd=1)} | {fmt(mi['rss_mb'], nd=1)} | {fmt(ei['rss_mb'], nd=1)} | {fmt(pi['rss_mb'] / mi['rss_mb'])} |")
    print(f"| idle CPU (% of a core, 1 s cycle) | {fmt(pi['cpu_pct'])} | {fmt(mi['cpu_pct'])} | {fmt(ei['cpu_pct'])} | |")
    print(f"| postgres.log lines caused per minute | {fmt(pi['postgres_log_lines_per_min'], nd=0)} | {fmt(mi['postgres_log_lines_per_min'], nd=0)} | — | |")
    h, m, s = r["pgvigil_http"]["health"], r["pgvigil_http"]["metrics"], r["monit_http"]["status_page"]
    e = r["exporter_http"]["metrics"]
    print(f"| HTTP req/s (wrk -t2 -c10): health / status page | {fmt(h[0], nd=0)} (p99 {fmt(h[1], ' ms')}) | {fmt(s[0], nd=0)} (p99 {fmt(s[1], ' ms')}) | — | {fmt(h[0] / s[0] if s[0] else None)} |")
    print(f"| HTTP req/s: /metrics | {fmt(m[0], nd=0)} (p99 {fmt(m[1], ' ms')}) | — | {fmt(e[0], nd=0)} (p99 {fmt(e[1], ' ms')}) | exporter ratio {fmt(m[0] / e[0] if e[0] else None)} |")
    print(f"| SIGSTOPped postmaster: cured after (s) | {fmt(r['pgvigil_hung_cured_after_s'], nd=1)} | {fmt(r['monit_hung_cured_after_s'], nd=1)} (— = not within 40 s) | — | |")
    ps, ms = r["pgvigil_saturated"], r["monit_saturated"]
    print(f"| saturated (all slots busy): restarted? sessions killed | {ps['restarted']}, {ps['sessions_killed']}/{ps['sessions']} | {ms['restarted']}, {ms['sessions_killed']}/{ms['sessions']} | — | |")
    if "health_pinned" in r["pgvigil_http"]:
        hp = r["pgvigil_http"]["health_pinned"]
        print(f"| /health, agent and wrk on separate cores (taskset) | {fmt(hp[0], nd=0)} (p99 {fmt(hp[1], ' ms')}) | — | — | |")
    ps, ms = r["pgvigil_standby"], r["monit_standby"]
    print(f"| standby in recovery (hot_standby=off) for {ps['seconds']} s: restarted? restart commands | {ps['restarted']}, {ps['restart_commands']}; reports {ps['reported']} | {ms['restarted']}, {ms['restart_commands']}; reports {ms['reported']} | — | |")
    t = r["pgvigil_1000_targets"]
    f = r["floor"]
    print(f"\nFloors on this machine: a C program that only links libpq: RSS {fmt(f['libpq_rss_mb'], ' MB', 1)}; "
          f"a minimal epoll server with a constant answer: {fmt(f['http'][0], nd=0)} req/s, p99 {fmt(f['http'][1], ' ms')}")
    print(f"\npgvigil with 1,000 targets at 10 s (one cluster): RSS {fmt(t['rss_mb'], ' MB', 1)}, CPU {fmt(t['cpu_pct'], '% of a core')}")
    print_readers(r["readers"])


if __name__ == "__main__":
    main()
