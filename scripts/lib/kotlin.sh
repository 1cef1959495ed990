# shellcheck shell=bash
# Shared steps of the Kotlin/JVM scripts (scripts/test-kotlin, scripts/bench-kotlin), sourced
# by them after `set -euo pipefail` and `cd` to the repository root; not run on its own.
#
#   kotlin_init NAME            paths and prerequisites; NAME prefixes error messages
#   kotlin_build_rust           debug FFI library, uniffi-bindgen and fieldkit-server
#   kotlin_generate             the Kotlin bindings from the debug library into $generated
#   kotlin_compiler             the pinned npm kotlin-compiler into .tools/kotlin ($kotlinc …)
#   kotlin_compile_core         the generated bindings into $core_jar (only when they changed)
#   kotlin_start_server         fieldkit-server on a free loopback port with an org, an admin
#                               and a rep ($addr, $password, $rep_id, $data_dir, $server_log);
#                               stopped and its data removed when the script exits
#   kotlin_export_env           the FIELDKIT_TEST_* variables the Kotlin programs read
#   kotlin_server_log_tail      the server log's last 40 lines, to stderr

# Error out with the calling script's name.
fail() {
  echo "${kotlin_script:-kotlin}: $*" >&2
  exit 1
}

# Sets the paths every step uses and checks Java and JNA.
kotlin_init() {
  kotlin_script="$1"
  root="$PWD"
  tools_spec="bindings/kotlin/tools"
  tools="$root/.tools/kotlin"
  build="$root/bindings/kotlin/build"
  generated="$build/generated"
  jna=/usr/share/java/jna.jar
  target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
  target_dir="${target_dir:-$root/target}"
  lib_dir="$target_dir/debug"
  core_jar="$build/fieldkit-core.jar"

  command -v java >/dev/null || fail "java is missing (Debian: openjdk-17-jdk-headless)"
  [ -f "$jna" ] || fail "$jna is missing; run scripts/setup (Debian package libjna-java)"
}

# Builds the debug FFI library (as apps get it), the workspace's uniffi-bindgen and the server.
kotlin_build_rust() {
  echo "== build the FFI library, uniffi-bindgen and fieldkit-server"
  cargo build --locked -q -p fieldkit-ffi --features cli --bin uniffi-bindgen
  # Built last and without the `cli` feature: the library exactly as apps get it.
  cargo build --locked -q -p fieldkit-ffi -p fieldkit-server
  [ -f "$lib_dir/libfieldkit_ffi.so" ] || fail "no $lib_dir/libfieldkit_ffi.so after the build"
}

# Generates the Kotlin bindings into $generated.
kotlin_generate() {
  echo "== generate the Kotlin bindings"
  rm -rf "$generated"
  "$target_dir/debug/uniffi-bindgen" generate --library "$lib_dir/libfieldkit_ffi.so" \
    --language kotlin --no-format --out-dir "$generated" >/dev/null
}

# Installs the pinned kotlinc when missing or when the lock file changed; sets $kotlinc,
# $stdlib and $coroutines.
kotlin_compiler() {
  echo "== kotlinc (npm kotlin-compiler, pinned by $tools_spec/package-lock.json)"
  if ! cmp -s "$tools_spec/package-lock.json" "$tools/package-lock.json" ||
    [ ! -x "$tools/node_modules/kotlin-compiler/bin/kotlinc" ]; then
    rm -rf "$tools"
    mkdir -p "$tools"
    cp "$tools_spec/package.json" "$tools_spec/package-lock.json" "$tools/"
    npm ci --prefix "$tools" --no-audit --no-fund --loglevel=error
  fi
  local kotlin_home="$tools/node_modules/kotlin-compiler"
  kotlinc="$kotlin_home/bin/kotlinc"
  stdlib="$kotlin_home/lib/kotlin-stdlib.jar"
  coroutines="$kotlin_home/lib/kotlinx-coroutines-core-jvm.jar"
  [ -x "$kotlinc" ] || fail "$kotlinc is missing after npm ci"
  [ -f "$stdlib" ] || fail "$stdlib is missing from the kotlin-compiler package"
  # The generated code's suspend functions need kotlinx.coroutines; the npm package ships it.
  [ -f "$coroutines" ] || fail "$coroutines is missing from the kotlin-compiler package (needed by the async bindings)"
}

# Compiles the generated bindings into $core_jar when they (or the compiler) changed; sets
# $hash, the stamp of the generated code and the compiler.
kotlin_compile_core() {
  local stamp="$build/fieldkit-core.jar.sha256"
  hash="$(find "$generated" -name '*.kt' -print0 | sort -z | xargs -0 cat | sha256sum | cut -d' ' -f1)"
  hash="$hash-$(sha256sum "$tools_spec/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$core_jar" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ]; then
    rm -f "$core_jar" "$stamp"
    # -nowarn: the generated code's warnings are uniffi's, not ours.
    local generated_sources
    mapfile -t generated_sources < <(find "$generated" -name '*.kt' | sort)
    "$kotlinc" -nowarn -jvm-target 17 -cp "$jna:$coroutines" -d "$core_jar" "${generated_sources[@]}"
    echo "$hash" >"$stamp"
  fi
}

# Stops the server and removes its data dir (the EXIT trap set by kotlin_start_server).
kotlin_cleanup() {
  if [ -n "${server_pid:-}" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "${data_dir:?}"
}

# Starts the debug fieldkit-server on a free loopback port over a temp data dir with the org
# `kotlin`, the admin `admin` and the rep `rep` (password $password, id $rep_id), rate limits
# off; sets $addr.
kotlin_start_server() {
  echo "== start fieldkit-server on a free loopback port"
  # The suites and benchmarks sign the same users in dozens of times a minute from one
  # address: the server's request and login budgets (meant for phones in the field) are off,
  # exported so that the servers the tests start themselves inherit it. Rate limits have
  # their own scenario tests (tests/tests/rate_limits.rs).
  export FIELDKIT_RATE_LIMIT_TOKEN=off FIELDKIT_RATE_LIMIT_IP=off FIELDKIT_RATE_LIMIT_LOGIN_IP=off \
    FIELDKIT_RATE_LIMIT_LOGIN_ACCOUNT=off
  data_dir="$(mktemp -d "${TMPDIR:-/tmp}/fieldkit-kotlin-server.XXXXXX")"
  server_log="$data_dir/server.log"
  server_pid=""
  trap kotlin_cleanup EXIT
  local server="$target_dir/debug/fieldkit-server"
  password="kotlin-tests-$RANDOM$RANDOM"
  "$server" --data-dir "$data_dir/data" create-org --slug kotlin --name "Kotlin Tests" >/dev/null
  FIELDKIT_PASSWORD="$password" "$server" --data-dir "$data_dir/data" add-user --org kotlin \
    --username admin --display-name "Admin" --role admin >/dev/null
  local rep_line
  rep_line="$(FIELDKIT_PASSWORD="$password" "$server" --data-dir "$data_dir/data" add-user --org kotlin \
    --username rep --display-name "Rep" --role rep)"
  rep_id="$(sed -n 's/.*(\([0-9a-f-]\{36\}\)).*/\1/p' <<<"$rep_line")"
  [ -n "$rep_id" ] || fail "cannot read the rep's id from: $rep_line"

  NO_COLOR=1 RUST_LOG="${RUST_LOG:-info,tower_http=warn}" "$server" --data-dir "$data_dir/data" serve \
    --bind 127.0.0.1:0 >"$server_log" 2>&1 &
  server_pid=$!
  addr=""
  for _ in $(seq 1 100); do
    addr="$(grep serving "$server_log" | grep -o '127\.0\.0\.1:[0-9]\+' | head -n1 || true)"
    [ -n "$addr" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$server_log" >&2; fail "the server exited at start"; }
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$server_log" >&2; fail "the server did not start within 10 s"; }
  echo "server at http://$addr"
  phones_dir="$data_dir/phones"
  mkdir -p "$phones_dir"
}

# Exports what the Kotlin programs read (TestEnv in bindings/kotlin/test, the bench).
kotlin_export_env() {
  export FIELDKIT_TEST_URL="http://$addr" FIELDKIT_TEST_ORG=kotlin FIELDKIT_TEST_PASSWORD="$password" \
    FIELDKIT_TEST_ADMIN=admin FIELDKIT_TEST_REP=rep FIELDKIT_TEST_REP_ID="$rep_id" \
    FIELDKIT_TEST_PHONES_DIR="$phones_dir"
}

# The server log's last 40 lines, to stderr.
kotlin_server_log_tail() {
  echo "-- server log (last 40 lines)" >&2
  tail -n 40 "$server_log" >&2
}
