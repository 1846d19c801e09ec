//! The `journey-report` binary: a thin shell over the library (see `journey_report::cli`).
//!
//! It allocates with mimalloc, as `datafusion-cli` does, with transparent huge pages off.
//! Measured on 10M events (bench/RESULTS.md): DataFusion's hash tables, string builders and
//! batches allocate and free large buffers from many threads. With glibc's allocator the run
//! spent about 38 s of user CPU, and at 100M events under `--memory-limit 4GiB` glibc's
//! per-thread arenas kept freed memory, so RSS stayed above 3 GiB between models. mimalloc
//! cut user CPU by about 8 s and returns freed memory. But with transparent huge pages
//! mimalloc asks the kernel for 2 MiB pages, and every fresh one is zeroed whole on first
//! touch: 12–17 s of system CPU against glibc's 3–5 s, which cancelled the gain. Without
//! them, mimalloc's system CPU is 4–5 s.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process's memory map; later page
    // faults then use 4 KiB pages. It cannot fail in a way that matters: on error the run is
    // only slower.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    journey_report::cli::main()
}
