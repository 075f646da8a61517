# Native and wasm builds of the same C sources. Run through ./build.sh,
# which installs the toolchain when it is missing.

ALL_SRC  := $(wildcard src/*.c src/kernels/*.c)
SIMD_SRC := src/kernels/kernels_simd128.c
POOL_SRC := src/parallel_pool.c
ONE_SRC  := src/parallel_single.c
CORE_SRC := $(filter-out $(SIMD_SRC) $(POOL_SRC),$(ALL_SRC))
HEADERS  := $(wildcard src/*.h src/kernels/*.h)

CC      ?= gcc
CFLAGS  := -std=c11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wshadow -D_GNU_SOURCE
EMCC    ?= emcc
EMWARN  := -std=c11 -msimd128 -Wall -Wextra -Wno-unused-parameter
EMFLAGS := $(EMWARN) -O3

# Code that runs once per load (parsing, planning, tokenizer construction) is
# built for size: V8 compiles hot wasm functions again with its optimizing
# tier, and that compiler's memory scales with function size; it counts
# toward peak memory while the weights are resident. The hot path (kernels,
# attention, the forward pass, sampling) stays -O3.
COLD_SRC := src/api.c src/arch.c src/error.c src/gguf.c src/loader.c src/model.c src/types.c \
            $(wildcard src/tokenizer*.c src/unicode*.c)

# Link settings shared by every wasm build: the loader passes the .wasm bytes
# in (emcc 3.1.6 cannot load them itself under Node), memory grows to 4 GiB,
# malloc failure is an error value (never an abort), and the glue installs no
# process-wide Node handlers.
EMLINK := -sMODULARIZE -sEXPORT_NAME=createGreenformerCore -sENVIRONMENT=web,worker,node \
          -sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB -sABORTING_MALLOC=0 -sFILESYSTEM=0 \
          -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0 -sTOTAL_STACK=1048576 \
          -sEXPORTED_FUNCTIONS=_malloc,_free \
          -sINCOMING_MODULE_JS_API=wasmBinary,instantiateWasm,print,printErr,locateFile,mainScriptUrlOrBlob

NATIVE_TESTS := $(patsubst tests/c/%.c,build/native/%,$(wildcard tests/c/test_*.c))
ASAN_TESTS   := $(patsubst tests/c/%.c,build/asan/%,$(wildcard tests/c/test_*.c))
WASM_TESTS   := $(patsubst tests/c/%.c,build/wasm/%.js,$(wildcard tests/c/test_*.c))

.PHONY: all native asan wasm clean
all: native asan wasm
native: build/native/libgreenformer.a $(NATIVE_TESTS)
asan: $(ASAN_TESTS)
wasm: dist/greenformer.js dist/greenformer.mjs dist/greenformer-mt.js dist/greenformer-mt.mjs $(WASM_TESTS) dist/package.json

build/native/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

build/native/libgreenformer.a: $(patsubst src/%.c,build/native/obj/%.o,$(CORE_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

build/native/test_%: tests/c/test_%.c tests/c/testing.h build/native/libgreenformer.a
	$(CC) $(CFLAGS) -Isrc $< build/native/libgreenformer.a -lm -o $@

# The same C tests under AddressSanitizer + UndefinedBehaviorSanitizer: any
# report fails the test (tests/native.test.mjs runs them).
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
build/asan/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 $(ASAN_FLAGS) -c $< -o $@

build/asan/test_%: tests/c/test_%.c tests/c/testing.h $(patsubst src/%.c,build/asan/obj/%.o,$(CORE_SRC))
	$(CC) $(CFLAGS) -O1 $(ASAN_FLAGS) -Isrc $< $(patsubst src/%.c,build/asan/obj/%.o,$(CORE_SRC)) -lm -o $@

build/wasm/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) $(if $(filter $<,$(COLD_SRC)),$(EMWARN) -Os,$(EMFLAGS)) -c $< -o $@

WASM_OBJ := $(patsubst src/%.c,build/wasm/obj/%.o,$(CORE_SRC) $(SIMD_SRC))
MT_OBJ   := $(patsubst src/%.c,build/wasm-mt/obj/%.o,$(filter-out $(ONE_SRC),$(CORE_SRC)) $(SIMD_SRC) $(POOL_SRC))

# The threaded build: the same sources with shared memory and atomics, and a
# persistent pool (src/parallel_pool.c) instead of inline tasks.
build/wasm-mt/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(EMCC) -pthread $(if $(filter $<,$(COLD_SRC)),$(EMWARN) -Os,$(EMFLAGS)) -c $< -o $@

# Linked at -O1: wasm-opt -O2/-O3 inlines once-called functions across files
# into 10-25 kB bodies (e.g. the whole GGUF parser into one API function),
# which costs ~10 MB of extra peak memory when V8 optimizes them, for no
# measurable speed (clang already optimized each file at -O3).
dist/greenformer.js: $(WASM_OBJ)
	@mkdir -p dist
	$(EMCC) -O1 -msimd128 $(EMLINK) $^ -o $@

# The loader sets Module.gfPoolSize (threads - 1) so the workers exist before
# the pool starts: browsers cannot start a worker while wasm blocks.
dist/greenformer-mt.js: $(MT_OBJ)
	@mkdir -p dist
	$(EMCC) -O1 -msimd128 -pthread -sPTHREAD_POOL_SIZE='Module.gfPoolSize' $(EMLINK),gfPoolSize $^ -o $@

# Browsers import an ES module; emcc 3.1.6's ES6 output breaks under Node, so
# Node loads the CommonJS glue and browsers this copy with an export added.
dist/%.mjs: dist/%.js
	{ cat $<; echo; echo 'export default createGreenformerCore;'; } > $@

# The glue emscripten writes is CommonJS; this keeps Node from reading it as
# an ES module inside our "type": "module" package.
dist/package.json:
	@mkdir -p dist
	echo '{ "type": "commonjs" }' > $@

# C tests also run as wasm under Node, where the SIMD kernels exist. The
# .wasm is embedded (SINGLE_FILE): emcc 3.1.6's Node glue cannot load a file.
build/wasm/test_%.js: tests/c/test_%.c tests/c/testing.h $(WASM_OBJ) build/wasm/package.json
	@mkdir -p $(dir $@)
	$(EMCC) $(EMFLAGS) -Isrc $< $(WASM_OBJ) -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node -sNODERAWFS=1 -sSINGLE_FILE=1 -sTOTAL_STACK=1048576 -o $@

build/wasm/package.json:
	@mkdir -p $(dir $@)
	echo '{ "type": "commonjs" }' > $@

clean:
	rm -rf build dist
