#!/bin/bash
# The upload path: a 4 MiB JPEG posted through nginx to an accepted job
# (sluice: the body parsed, the image decoded whole, stored, journaled,
# 303), against nginx storing the same body in a file itself
# (client_body_in_file_only), interleaved in one run: p50/p99 and CPU
# per upload of each side.
# usage: bench-upload.sh BUILDDIR SRCDIR [UPLOADS]
set -u
builddir=$1 srcdir=$2 n=${3:-60}
command -v curl >/dev/null || { echo "upload: SKIP (curl not installed)"; exit 0; }
/usr/bin/python3 -c 'import PIL, numpy' 2>/dev/null ||
	{ echo "upload: SKIP (python3-pil, python3-numpy not installed)"; exit 0; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d /tmp/sluice-bench-up.XXXXXX)
. "$srcdir/tests/bench/bench-lib.sh"
sink_pid=
trap 'stop; rm -rf "$work"' EXIT
stop() {
	bench_stop
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
	sink_pid=
}

# The photo: noise compresses badly, so 2176x1632 at quality 95 is ~4 MiB.
/usr/bin/python3 - "$work/photo.jpg" <<'PY'
import sys
import numpy as np
from PIL import Image
rng = np.random.RandomState(7)
img = rng.randint(0, 256, (1632, 2176, 3)).astype(np.uint8)
q = 95
while True:
    Image.fromarray(img).save(sys.argv[1], quality=q)
    if open(sys.argv[1], "rb").seek(0, 2) <= 4 * 1024 * 1024 or q < 50:
        break
    q -= 3
PY
bytes=$(wc -c < "$work/photo.jpg")

cat > "$work/upload.conf" <<'CONF'
server = { drain_timeout = 1; };
sessions = { max_active = 100000; };
results = { ttl = 3600; max_bytes = 1073741824; };
locks = { cpu = { slots = 2; queue = 100000; }; };
tasks = {
  up = {
    worker = ["python3", "-m", "sluice_testworker", "echo"];
    locks = ["cpu"];
    inputs = { photo = { type = "image"; max_bytes = 8388608; max_pixels = 16777216; }; };
  };
};
CONF
port=$(bench_free_port)
bench_serve upload "$port" "$work/upload.conf" --static "$srcdir/nginx/static" \
	--python "$srcdir/kernels:$srcdir/tests/data/workers"

# nginx alone, storing each body in a file (the same limits and buffers).
sport=$(bench_free_port)
mkdir -p "$work/sink/logs" "$work/sink/tmp"
# As root, nginx's workers would run as nobody, who cannot write here.
user_line=
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
cat > "$work/sink/nginx.conf" <<CONF
daemon off;
$user_line
worker_processes 1;
pid $work/sink/nginx.pid;
error_log $work/sink/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/sink/tmp;
    client_max_body_size 16m;
    server {
        listen 127.0.0.1:$sport;
        location = /sink {
            client_body_in_file_only clean;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_pass http://127.0.0.1:$sport/done;
        }
        location = /done { return 204; }
    }
}
CONF
"$nginx_bin" -p "$work/sink" -c "$work/sink/nginx.conf" 2>"$work/sink/err" &
sink_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$sport/done" && break; sleep 0.05; done

sid=0123456789abcdef0123456789abcdef
tok=$(curl -s -H "Cookie: sid=$sid" "http://127.0.0.1:$port/session.json" | sed 's/.*"csrf":"\([0-9a-f]*\)".*/\1/')
b=----sluicebench
{
	printf -- '--%s\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n%s\r\n' "$b" "$tok"
	printf -- '--%s\r\nContent-Disposition: form-data; name="photo"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n' "$b"
	cat "$work/photo.jpg"
	printf -- '\r\n--%s--\r\n' "$b"
} > "$work/body"

# CPU seconds (user + system) of the processes whose command line matches.
cpu_of() {
	local total=0 pid
	for pid in $(pgrep -f "$1"); do
		total=$(awk -v t="$total" -v hz="$(getconf CLK_TCK)" '{print t + ($14 + $15) / hz}' "/proc/$pid/stat" 2>/dev/null || echo "$total")
	done
	echo "$total"
}
post() {
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Cookie: sid=$sid" \
		-H "Content-Type: multipart/form-data; boundary=$b" \
		--data-binary @"$work/body" "$1"
}
: > "$work/sluice.t"; : > "$work/sink.t"
post "http://127.0.0.1:$port/tasks/up" > /dev/null	# the worker starts
c0=$(cpu_of "$builddir/sluice .*$work/upload.conf")
g0=$(cpu_of "nginx: worker process") # both nginx workers: split below
for i in $(seq 1 "$n"); do
	post "http://127.0.0.1:$port/tasks/up" >> "$work/sluice.t"
	post "http://127.0.0.1:$sport/sink" >> "$work/sink.t"
done
c1=$(cpu_of "$builddir/sluice .*$work/upload.conf")
bad=$(awk '$1 != 303' "$work/sluice.t" | wc -l)
sbad=$(awk '$1 != 204' "$work/sink.t" | wc -l)
pct() { awk '{print $2 * 1000}' "$1" | sort -g | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; printf "%.1f", a[i]}'; }
s50=$(pct "$work/sluice.t" 50) s99=$(pct "$work/sluice.t" 99)
k50=$(pct "$work/sink.t" 50) k99=$(pct "$work/sink.t" 99)
cpu=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN {printf "%.1f", (b - a) * 1000 / n}')
r50=$(awk -v a="$s50" -v b="$k50" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
r99=$(awk -v a="$s99" -v b="$k99" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
echo "upload $mib MiB JPEG through nginx to an accepted job: p50 $s50 ms, p99 $s99 ms vs nginx storing the same body: p50 $k50 ms, p99 $k99 ms: ratio p50 $r50, p99 $r99 ($n each, interleaved; refused: $bad sluice, $sbad nginx)"
echo "upload responder CPU per upload: $cpu ms (parse, decode the whole image, store, fsync, journal)"
