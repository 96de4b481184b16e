#include <oneapi/dnnl/dnnl.h>

/* Swift cannot import these macros (they are casts or macro chains). */
static inline void *netra_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static const int NETRA_DNNL_ARG_SRC = DNNL_ARG_SRC;
static const int NETRA_DNNL_ARG_DST = DNNL_ARG_DST;
static const int NETRA_DNNL_ARG_WEIGHTS = DNNL_ARG_WEIGHTS;
static const int NETRA_DNNL_ARG_BIAS = DNNL_ARG_BIAS;
static const int NETRA_DNNL_ARG_SCRATCHPAD = DNNL_ARG_SCRATCHPAD;
static const int NETRA_DNNL_ARG_FROM = DNNL_ARG_FROM;
static const int NETRA_DNNL_ARG_TO = DNNL_ARG_TO;

/* Sets the OpenMP thread count of the calling thread for libdnnl's runtime (libgomp, loaded
   with libdnnl; looked up at run time because Debian ships no libgomp.so link for clang). */
#include <dlfcn.h>
static inline void netra_omp_set_num_threads(int count) {
    static void (*set_threads)(int) = 0;
    if (set_threads == 0) {
        void *runtime = dlopen("libgomp.so.1", RTLD_NOW | RTLD_NOLOAD);
        if (runtime == 0) return;
        set_threads = (void (*)(int))dlsym(runtime, "omp_set_num_threads");
        if (set_threads == 0) return;
    }
    set_threads(count);
}
