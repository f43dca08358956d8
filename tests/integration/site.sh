# site.sh: nginx/sluice.conf (the production site) made runnable by a test
# without root, sourced by test_install.sh and test_site.sh after they set
# $tmp. site_conf SRC DIR [HTTP HTTPS] writes DIR/nginx.conf wrapping SRC
# in an http block: the /run paths moved under DIR/run, the listen lines on
# 127.0.0.1:HTTP and :HTTPS (unix sockets in DIR when no ports are given:
# nginx -t binds them), a self-signed certificate in place of the site's,
# the static files from the source tree. Returns 1 when openssl is missing.
site_conf() {
	local src=$1 dir=$2 http=${3:-} https=${4:-} l80 l443 user_line=
	mkdir -p "$dir/logs" "$dir/run/nginx-sluice" "$dir/run/sluice" || return 1
	cp /etc/nginx/fastcgi_params "$dir/" 2>/dev/null ||
	    : >"$dir/fastcgi_params"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
	    return 1
	if [ -n "$http" ]; then
		l80="127.0.0.1:$http" l443="127.0.0.1:$https"
	else
		l80="unix:$dir/run/http.sock" l443="unix:$dir/run/https.sock"
	fi
	sed -e "s|/run/|$dir/run/|g" \
	    -e "s|listen 80;|listen $l80;|" \
	    -e "s|listen 443 ssl;|listen $l443 ssl;|" \
	    -e '/listen \[::\]:/d' \
	    -e "s|/etc/ssl/sluice/fullchain.pem|$dir/cert.pem|" \
	    -e "s|/etc/ssl/sluice/privkey.pem|$dir/key.pem|" \
	    -e "s|/usr/share/sluice/static/|$top_srcdir/nginx/static/|" \
	    "$src" >"$dir/site.conf" || return 1
	# As root (CI), the workers run as the caller: they reach the
	# responder's 0660 socket.
	[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
	cat >"$dir/nginx.conf" <<CONF
load_module $nchan_so;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
$user_line
events {}
http {
    client_body_temp_path $dir/body;
    fastcgi_temp_path $dir/fastcgi;
    proxy_temp_path $dir/proxy;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    access_log off;
    include $dir/site.conf;
}
CONF
}
