# Native and wasm builds of the same C sources. Run through ./build.sh,
# which installs the toolchain when it is missing.

# Sources sit in one folder per layer (src/README.md); includes name the
# layer ("quant/quant.h"), so every compile line has -Isrc.
ALL_SRC  := $(wildcard src/*/*.c)
SIMD_SRC := $(wildcard src/kernels/*_simd128.c)
POOL_SRC := src/base/parallel_pool.c
ONE_SRC  := src/base/parallel_single.c
CORE_SRC := $(filter-out $(SIMD_SRC) $(POOL_SRC),$(ALL_SRC))
HEADERS  := $(wildcard src/*/*.h)
# The offline tools (quantizer, calibration, GPTQ, mix planner, pruning) and
# their API: linked only into dist/greenformer-tools.wasm, the module
# quantizeModel and pruneModel load; the runtime builds leave them out.
TOOLS_SRC := src/api/api_quantize.c src/api/api_prune.c $(wildcard src/tools/*.c)

# Quiet by default: one short line per step; `./build.sh V=1` prints commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

CC      ?= gcc
CFLAGS  := -std=c11 -O2 -g -Wall -Wextra -Wno-unused-parameter -Wshadow -D_GNU_SOURCE -Isrc
EMCC    ?= emcc
EMWARN  := -std=c11 -msimd128 -Wall -Wextra -Wno-unused-parameter -Isrc
EMFLAGS := $(EMWARN) -O3

# Code that runs once per load (parsing, planning, tokenizer construction) is
# built for size: V8 compiles hot wasm functions again with its optimizing
# tier, and that compiler's memory scales with function size; it counts
# toward peak memory while the weights are resident. The hot path (kernels,
# attention, the forward pass, sampling) stays -O3.
COLD_SRC := src/api/api.c src/model/arch.c src/base/error.c src/format/gguf.c src/model/loader.c src/model/model.c \
            src/quant/types.c $(wildcard src/text/*.c)

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
RELAXED_OUT  := dist/greenformer-relaxed.js dist/greenformer-relaxed.mjs dist/greenformer-relaxed-mt.js \
                dist/greenformer-relaxed-mt.mjs build/wasm-relaxed/test_kernels.js build/wasm-relaxed/test_kernels.web.js \
                build/wasm-relaxed/test_types_t5.js build/wasm-relaxed16/test_types_t5.js \
                dist/greenformer-relaxed16.js dist/greenformer-relaxed16.mjs dist/greenformer-relaxed16-mt.js \
                dist/greenformer-relaxed16-mt.mjs build/wasm-relaxed16/test_kernels.js build/wasm-relaxed16/test_kernels.web.js
RELAXED_OUT  += build/wasm-relaxed/test_types_t23.js build/wasm-relaxed16/test_types_t23.js
RELAXED_OUT  += build/wasm-relaxed/test_types_tiq.js build/wasm-relaxed16/test_types_tiq.js

.PHONY: all native asan wasm clean
# Keep every object file: they are only pattern-rule prerequisites, which make
# would otherwise delete as intermediates and rebuild all at the next change.
.SECONDARY:
all: native asan wasm
native: build/native/libgreenformer.a $(NATIVE_TESTS)
asan: $(ASAN_TESTS)
wasm: dist/greenformer.js dist/greenformer.mjs dist/greenformer-mt.js dist/greenformer-mt.mjs $(WASM_TESTS) dist/package.json \
      build/wasm/test_kernels.web.js \
      dist/greenformer-tools.js dist/greenformer-tools.mjs $(RELAXED_OUT)

build/native/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

build/native/libgreenformer.a: $(patsubst src/%.c,build/native/obj/%.o,$(CORE_SRC))
	@mkdir -p $(dir $@)
	@echo "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

build/native/test_%: tests/c/test_%.c tests/c/testing.h build/native/libgreenformer.a
	@echo "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -Isrc $< build/native/libgreenformer.a -lm -o $@

# The same C tests under AddressSanitizer + UndefinedBehaviorSanitizer: any
# report fails the test (tests/native.test.mjs runs them).
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
build/asan/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -O1 $(ASAN_FLAGS) -c $< -o $@

build/asan/test_%: tests/c/test_%.c tests/c/testing.h $(patsubst src/%.c,build/asan/obj/%.o,$(CORE_SRC))
	@echo "  CC    $@"
	$(Q)$(CC) $(CFLAGS) -O1 $(ASAN_FLAGS) -Isrc $< $(patsubst src/%.c,build/asan/obj/%.o,$(CORE_SRC)) -lm -o $@

build/wasm/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(EMCC) $(if $(filter $<,$(COLD_SRC)),$(EMWARN) -Os,$(EMFLAGS)) -c $< -o $@

WASM_OBJ := $(patsubst src/%.c,build/wasm/obj/%.o,$(CORE_SRC) $(SIMD_SRC))
MT_OBJ   := $(patsubst src/%.c,build/wasm-mt/obj/%.o,$(filter-out $(ONE_SRC),$(CORE_SRC)) $(SIMD_SRC) $(POOL_SRC))
# A runtime link's objects: a build's objects without the tools' ($(1): the build's directory under build/)
runtime_obj = $(filter-out $(patsubst src/%.c,build/$(1)/obj/%.o,$(TOOLS_SRC)),$(2))

# The threaded build: the same sources with shared memory and atomics, and a
# persistent pool (src/base/parallel_pool.c) instead of inline tasks.
build/wasm-mt/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(EMCC) -pthread $(if $(filter $<,$(COLD_SRC)),$(EMWARN) -Os,$(EMFLAGS)) -c $< -o $@

# Linked at -O1: wasm-opt -O2/-O3 inlines once-called functions across files
# into 10-25 kB bodies (e.g. the whole GGUF parser into one API function),
# which costs ~10 MB of extra peak memory when V8 optimizes them, for no
# measurable speed (clang already optimized each file at -O3).
dist/greenformer.js: $(call runtime_obj,wasm,$(WASM_OBJ))
	@mkdir -p dist
	@echo "  EMCC  $@"
	$(Q)$(EMCC) -O1 -msimd128 $(EMLINK) $^ -o $@

# The tools module: the plain single-thread engine with the offline tools,
# linked from the same objects as dist/greenformer.js (one more link, no
# more compiles). quantizeModel and pruneModel load it (web/quantize.js);
# calibration runs the model, so it holds the whole engine.
dist/greenformer-tools.js: $(WASM_OBJ)
	@mkdir -p dist
	@echo "  EMCC  $@"
	$(Q)$(EMCC) -O1 -msimd128 $(EMLINK) $^ -o $@

# The loader sets Module.gfPoolSize (threads - 1) so the workers exist before
# the pool starts: browsers cannot start a worker while wasm blocks.
dist/greenformer-mt.js: $(call runtime_obj,wasm-mt,$(MT_OBJ))
	@mkdir -p dist
	@echo "  EMCC  $@"
	$(Q)$(EMCC) -O1 -msimd128 -pthread -sPTHREAD_POOL_SIZE='Module.gfPoolSize' $(EMLINK),gfPoolSize $^ -o $@

# Browsers import an ES module; emcc 3.1.6's ES6 output breaks under Node, so
# Node loads the CommonJS glue and browsers this copy with an export added.
dist/%.mjs: dist/%.js
	@echo "  GEN   $@"
	$(Q){ cat $<; echo; echo 'export default createGreenformerCore;'; } > $@

# The glue emscripten writes is CommonJS; this keeps Node from reading it as
# an ES module inside our "type": "module" package.
dist/package.json:
	@mkdir -p dist
	@echo "  GEN   $@"
	$(Q)echo '{ "type": "commonjs" }' > $@

# C tests also run as wasm under Node, where the SIMD kernels exist. The
# .wasm is embedded (SINGLE_FILE): emcc 3.1.6's Node glue cannot load a file.
build/wasm/test_%.js: tests/c/test_%.c tests/c/testing.h tests/c/node-env.js $(WASM_OBJ) build/wasm/package.json
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(EMCC) $(EMFLAGS) -Isrc $< $(WASM_OBJ) -sALLOW_MEMORY_GROWTH -sENVIRONMENT=node -sNODERAWFS=1 -sSINGLE_FILE=1 -sTOTAL_STACK=1048576 --pre-js tests/c/node-env.js -o $@

# The kernel tests of the plain build as a page script (the .wasm embedded): the browser tests run them in
# Chromium and Firefox (tests/helpers/browser-tests.mjs), as the relaxed builds' copies below.
build/wasm/test_%.web.js: tests/c/test_%.c tests/c/testing.h $(WASM_OBJ)
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(EMCC) $(EMFLAGS) -Isrc $< $(WASM_OBJ) -sALLOW_MEMORY_GROWTH -sENVIRONMENT=web -sSINGLE_FILE=1 -sTOTAL_STACK=1048576 -o $@

build/wasm/package.json build/wasm-relaxed/package.json build/wasm-relaxed16/package.json:
	@mkdir -p $(dir $@)
	@echo "  GEN   $@"
	$(Q)echo '{ "type": "commonjs" }' > $@

# ---- relaxed SIMD builds (browsers that have it: web/core.js detects it) ----
# The same sources with clang-19 -mrelaxed-simd: the kernels then use
# i8x16 dot products where an operand provably fits 7 bits, with results
# bit-identical to the plain build (src/kernels/kernels_simd128.c). emcc
# 3.1.6 runs whatever tools sit in EM_LLVM_ROOT under their "-14" names, so
# build/llvm19 holds clang-19's tools under those names. binaryen 108
# (wasm-opt) misreads relaxed SIMD: a relaxed dot came out computing a wrong
# value after wasm-opt -O3. So these link at -O1 (no wasm-opt passes, as
# the plain builds) with WASM_BIGINT (no i64 legalization), which leaves
# binaryen only reading the module for its metadata.
# -ffp-contract=off: the plain build never fuses a*b+c (SIMD128 has no fma);
# a relaxed madd here would round differently.
LLVM19_TOOLS := clang clang++ wasm-ld llvm-ar llvm-ranlib llvm-nm llvm-objcopy llvm-dwarfdump llvm-dwp llvm-link \
                llvm-mc opt llc
build/llvm19/.tools:
	@mkdir -p $(dir $@)
	@echo "  LN    $@"
	$(Q)for t in $(LLVM19_TOOLS); do ln -sf "$$(command -v $$t-19)" build/llvm19/$$t-14 || exit 1; done
	@echo "  RUN   $@"
	$(Q)touch $@

RELAXED_EMCC := EM_LLVM_ROOT=$(abspath build/llvm19) $(EMCC)
RELAXED_FLAGS := -mrelaxed-simd -ffp-contract=off
RELAXED_OBJ := $(patsubst src/%.c,build/wasm-relaxed/obj/%.o,$(CORE_SRC) $(SIMD_SRC))
RELAXED_MT_OBJ := $(patsubst src/%.c,build/wasm-relaxed-mt/obj/%.o,$(filter-out $(ONE_SRC),$(CORE_SRC)) $(SIMD_SRC) $(POOL_SRC))

build/wasm-relaxed/obj/%.o: src/%.c $(HEADERS) | build/llvm19/.tools
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(RELAXED_EMCC) $(RELAXED_FLAGS) $(if $(filter $<,$(COLD_SRC)),$(EMWARN) -Os,$(EMFLAGS)) -c $< -o $@

build/wasm-relaxed-mt/obj/%.o: src/%.c $(HEADERS) | build/llvm19/.tools
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(RELAXED_EMCC) -pthread $(RELAXED_FLAGS) $(if $(filter $<,$(COLD_SRC)),$(EMWARN) -Os,$(EMFLAGS)) -c $< -o $@

# Links of the relaxed builds (relaxed and relaxed16 below), from the objects
# among the prerequisites.
RELAXED_LINK = $(RELAXED_EMCC) -O1 -msimd128 -mrelaxed-simd -sWASM_BIGINT
RELAXED_MT_LINK = $(RELAXED_LINK) -pthread -sPTHREAD_POOL_SIZE='Module.gfPoolSize'
RELAXED_TEST = $(RELAXED_EMCC) $(RELAXED_FLAGS) $(EMWARN) -O1 -Isrc $< $(filter %.o,$^) -sWASM_BIGINT -sALLOW_MEMORY_GROWTH \
               -sSINGLE_FILE=1 -sTOTAL_STACK=1048576

dist/greenformer-relaxed.js: $(call runtime_obj,wasm-relaxed,$(RELAXED_OBJ))
dist/greenformer-relaxed-mt.js: $(call runtime_obj,wasm-relaxed-mt,$(RELAXED_MT_OBJ))

dist/greenformer-relaxed.js dist/greenformer-relaxed16.js:
	@mkdir -p dist
	@echo "  EMCC  $@"
	$(Q)$(RELAXED_LINK) $(EMLINK) $^ -o $@

dist/greenformer-relaxed-mt.js dist/greenformer-relaxed16-mt.js:
	@mkdir -p dist
	@echo "  EMCC  $@"
	$(Q)$(RELAXED_MT_LINK) $(EMLINK),gfPoolSize $^ -o $@

# The kernel tests with the relaxed kernels: under Node with
# --experimental-wasm-relaxed-simd, and in browsers (the .web.js copy, which
# tests/helpers/browser-tests.mjs loads into a page). -O1, as a link level: -O2 and
# above would run wasm-opt (the kernels themselves are compiled at -O3).
# $(1): the build's directory under build/, $(2): its objects
define relaxed_tests
build/$(1)/test_%.js: tests/c/test_%.c tests/c/testing.h tests/c/node-env.js $(2) build/$(1)/package.json
	@mkdir -p $$(dir $$@)
	@echo "  EMCC  $$@"
	$$(Q)$$(RELAXED_TEST) -sENVIRONMENT=node -sNODERAWFS=1 --pre-js tests/c/node-env.js -o $$@

build/$(1)/test_%.web.js: tests/c/test_%.c tests/c/testing.h $(2)
	@mkdir -p $$(dir $$@)
	@echo "  EMCC  $$@"
	$$(Q)$$(RELAXED_TEST) -sENVIRONMENT=web -o $$@
endef
$(eval $(call relaxed_tests,wasm-relaxed,$(RELAXED_OBJ)))

# ---- the relaxed16 build, for x86 CPUs without AVX-VNNI ----
# There V8 emulates the relaxed i32 dot product (pmaddubsw, pmaddwd, add) and
# the plain build is faster than the relaxed one; -DGF_DOT16 makes the
# kernels add pmaddubsw's i16 pair sums before widening them (dot1 in
# src/kernels/kernels_simd128.c). Only the kernel files differ from the
# relaxed build; web/core.js picks this one where its probe finds the
# emulation.
DOT16_SRC := src/kernels/kernels.c src/kernels/kernels_simd128.c src/kernels/q5_1_simd128.c
DOT16_SRC += src/kernels/q2_K_simd128.c src/kernels/q3_K_simd128.c
DOT16_SRC += src/kernels/iq4_xs_simd128.c src/kernels/bf16_simd128.c
DOT16_OBJ := $(filter-out $(patsubst src/%.c,build/wasm-relaxed/obj/%.o,$(DOT16_SRC)),$(RELAXED_OBJ)) \
             $(patsubst src/%.c,build/wasm-relaxed16/obj/%.o,$(DOT16_SRC))
DOT16_MT_OBJ := $(filter-out $(patsubst src/%.c,build/wasm-relaxed-mt/obj/%.o,$(DOT16_SRC)),$(RELAXED_MT_OBJ)) \
                $(patsubst src/%.c,build/wasm-relaxed16-mt/obj/%.o,$(DOT16_SRC))

build/wasm-relaxed16/obj/%.o: src/%.c $(HEADERS) | build/llvm19/.tools
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(RELAXED_EMCC) -DGF_DOT16 $(RELAXED_FLAGS) $(EMFLAGS) -c $< -o $@

build/wasm-relaxed16-mt/obj/%.o: src/%.c $(HEADERS) | build/llvm19/.tools
	@mkdir -p $(dir $@)
	@echo "  EMCC  $@"
	$(Q)$(RELAXED_EMCC) -DGF_DOT16 -pthread $(RELAXED_FLAGS) $(EMFLAGS) -c $< -o $@

dist/greenformer-relaxed16.js: $(call runtime_obj,wasm-relaxed,$(DOT16_OBJ))
dist/greenformer-relaxed16-mt.js: $(call runtime_obj,wasm-relaxed-mt,$(DOT16_MT_OBJ))

$(eval $(call relaxed_tests,wasm-relaxed16,$(DOT16_OBJ)))

clean:
	@echo "  RUN   $@"
	$(Q)rm -rf build dist
