#!/bin/sh
# Install the project into a scratch prefix, check that the libraries
# export their public API only, then build and run a consumer against it:
# with find_package(vmm), statically and shared, and with pkg-config.
# Usage: install-test.sh BUILD_DIR CONSUMER_SRC WORK_DIR CC SRC_DIR
set -eu
build=$1 src=$2 work=$3 cc=$4 top=$5
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log" ||
	{ cat "$work/install.log"; echo "install-test: cmake --install failed" >&2; exit 1; }
for f in bin/vmm include/vmm/vmm.h; do
	[ -e "$prefix/$f" ] || { echo "install-test: $f not installed" >&2; exit 1; }
done
lib=$(find "$prefix" -name libvmm.a | head -n 1)
[ -n "$lib" ] || { echo "install-test: libvmm.a not installed" >&2; exit 1; }
libdir=$(dirname "$lib")
so=$(find "$prefix" -name 'libvmm.so.*.*.*' | head -n 1)
[ -n "$so" ] || { echo "install-test: libvmm.so not installed" >&2; exit 1; }
soname=$(objdump -p "$so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libvmm.so.0 ] ||
	{ echo "install-test: libvmm.so has SONAME '$soname', want libvmm.so.0" >&2; exit 1; }
"$top/scripts/check-exports.sh" "$prefix" "$top"
"$prefix/bin/vmm" --version | grep -q '^vmm ' ||
	{ echo "install-test: installed vmm --version failed" >&2; exit 1; }

# A library built with sanitizers needs their runtime in the consumer too.
extra=
if nm "$lib" 2>/dev/null | grep -q __asan_; then
	extra=-fsanitize=address,undefined
fi

# find_package(vmm)
cmake -S "$src" -B "$work/cmake-build" -DCMAKE_C_COMPILER="$cc" \
	-DCMAKE_EXE_LINKER_FLAGS="$extra" \
	-DCMAKE_PREFIX_PATH="$prefix" > "$work/configure.log" 2>&1 ||
	{ cat "$work/configure.log"; echo "install-test: find_package(vmm) failed" >&2; exit 1; }
cmake --build "$work/cmake-build" > "$work/build.log" 2>&1 ||
	{ cat "$work/build.log"; echo "install-test: consumer build failed" >&2; exit 1; }
"$work/cmake-build/consumer"
LD_LIBRARY_PATH=$libdir "$work/cmake-build/consumer-shared"
ldd "$work/cmake-build/consumer-shared" | grep -q 'libvmm.so.0 =>' ||
	{ echo "install-test: consumer-shared does not use libvmm.so.0" >&2; exit 1; }

# pkg-config
pc=$(dirname "$(find "$prefix" -name vmm.pc | head -n 1)")
[ -n "$pc" ] || { echo "install-test: vmm.pc not installed" >&2; exit 1; }
flags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs vmm)
# shellcheck disable=SC2086
"$cc" -o "$work/consumer-pc" "$src/main.c" $flags $extra
LD_LIBRARY_PATH=$libdir "$work/consumer-pc"
echo "install-test: ok (exports, find_package static and shared, pkg-config)"
