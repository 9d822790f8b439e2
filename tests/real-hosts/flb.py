"""Running the shipped Fluent Bit config in a real Fluent Bit.

The shipped classic config (pipeline-examples/fluent-bit/reassemble.conf)
is read and changed only where a test must: file paths, tail reading the
files from their start, the `kubernetes` filter (it needs an API server)
and the output. Everything else runs as shipped.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "pipeline-examples" / "fluent-bit"


def parse_classic(text):
    """[(section, [(key, value)…])…] of a classic config, comments dropped."""
    sections = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append([line[1:-1].strip().upper(), []])
            continue
        key, _, value = line.partition(" ")
        sections[-1][1].append([key, value.strip()])
    return sections


def render(sections):
    out = []
    for name, props in sections:
        out.append(f"[{name}]")
        out.extend(f"    {k} {v}" for k, v in props)
        out.append("")
    return "\n".join(out)


def get(props, key):
    for k, v in props:
        if k.lower() == key.lower():
            return v
    return None


def put(props, key, value):
    for p in props:
        if p[0].lower() == key.lower():
            p[1] = value
            return
    props.append([key, value])


def shipped_config(work, module, output, function=None, heartbeat=None,
                   http_port=None, inputs_glob=None):
    """The shipped reassemble config, adapted to run here.

    work: scratch dir (tail DB); module: the .wasm (or WAMR .aot) path;
    output: list of [key, value] for the [OUTPUT] replacing the shipped
    loki output (its Match_Regex is kept), or "shipped" to keep it (then
    change it with `loki_at`); function: another exported
    function (e.g. gopanic_passthrough for a cost baseline); heartbeat:
    another Dummy record; inputs_glob: the files tail reads.
    """
    secs = parse_classic((EXAMPLES / "reassemble.conf").read_text())
    out = []
    for name, props in secs:
        kind = get(props, "Name")
        if name == "SERVICE":
            put(props, "Parsers_File", str(EXAMPLES / "parsers-gopanic.conf"))
            if http_port:
                put(props, "HTTP_Port", str(http_port))
                put(props, "HTTP_Listen", "127.0.0.1")
            else:
                put(props, "HTTP_Server", "Off")
                props[:] = [p for p in props if p[0].lower() != "health_check"]
        elif kind == "tail":
            put(props, "Path", inputs_glob)
            put(props, "DB", str(Path(work) / "tail.db"))
            # The files exist before Fluent Bit starts: read them whole.
            put(props, "Read_from_Head", "On")
        elif kind == "dummy" and heartbeat is not None:
            put(props, "Dummy", heartbeat)
        elif kind == "wasm":
            put(props, "WASM_Path", str(module))
            put(props, "Accessible_Paths", str(Path(module).parent))
            if function:
                put(props, "Function_Name", function)
        elif kind == "kubernetes":
            continue
        elif name == "OUTPUT" and output == "shipped":
            pass
        elif name == "OUTPUT":
            match = get(props, "Match_Regex")
            props = [["Name", output[0][1]], ["Match_Regex", match]] + output[1:]
        out.append([name, props])
    return render(out)


class FluentBit:
    """A Fluent Bit process on a generated config; CPU time read at the end."""

    def __init__(self, binary, conf_path, log_path):
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([binary, "-c", str(conf_path)],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def cpu_seconds(self):
        """User + system CPU of the running process (from /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def stop(self):
        cpu = None
        if self.proc.poll() is None:
            cpu = self.cpu_seconds()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return cpu


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True)
    m = re.search(r"v?(\d+\.\d+\.\d+)", out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


def read_out_file(path):
    """Records of an out_file (default JSON format) file:
    [(tag, time_ns, record_json_text)…]."""
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            tag, _, rest = line.partition(": [")
            ts, _, body = rest.partition(", ")
            sec, _, nsec = ts.partition(".")
            rows.append((tag, int(sec) * 1_000_000_000 + int(nsec), body[:-1]))
    return rows


class OutCounter:
    """Counts the records of an out_file file as it grows (reading only
    what was appended), leaving out those under the heartbeat tag."""

    def __init__(self, path):
        self.path, self.offset, self.count, self.rest = path, 0, 0, b""

    def poll(self):
        if not os.path.exists(self.path):
            return self.count
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        data = self.rest + data
        lines = data.split(b"\n")
        self.rest = lines.pop()
        self.count += sum(1 for l in lines if l and not l.startswith(b"gopanic.tick:"))
        return self.count


def wait_stable(path, want, timeout, quiet=20.0):
    """Waits until the out file holds `want` records not under the heartbeat
    tag, or stops growing for `quiet` seconds, or `timeout` seconds pass;
    returns the count."""
    counter = OutCounter(path)
    start = time.time()
    last, last_change = -1, time.time()
    while True:
        n = counter.poll()
        if n != last:
            last, last_change = n, time.time()
        if want is not None and n >= want and time.time() - last_change > 2.0:
            return n
        if time.time() - start > timeout:
            return n
        # Nothing more for a while: what is out is all that will come.
        if n > 0 and time.time() - last_change > quiet:
            return n
        time.sleep(0.5)


def loki_at(conf, url):
    """The shipped loki output pointed at `url` (http://host:port)."""
    from urllib.parse import urlparse
    u = urlparse(url)
    secs = parse_classic(conf)
    for name, props in secs:
        if name == "OUTPUT" and get(props, "Name") == "loki":
            put(props, "Host", u.hostname)
            put(props, "Port", str(u.port or 80))
            if u.scheme == "https":
                put(props, "TLS", "On")
    return render(secs)
