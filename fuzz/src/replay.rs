//! Replaying saved inputs in the normal test suite (included there with
//! `#[path]`): every file under `tests/fuzz-regressions/<dir>/`, and under
//! `$GOPANIC_FUZZ_REPLAY` when set (a fuzzer corpus, say).

use std::path::{Path, PathBuf};

/// Runs `check` on every input of `dir` (relative to
/// `tests/fuzz-regressions/` under `root`, the repository); fails naming
/// each input that fails. Returns how many inputs ran.
pub fn replay(root: &Path, dir: &str, check: impl Fn(&[u8])) -> usize {
    let mut dirs = vec![root.join("tests/fuzz-regressions").join(dir)];
    dirs.extend(std::env::var_os("GOPANIC_FUZZ_REPLAY").map(PathBuf::from));
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data))).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "inputs failing the checks:\n{}",
        failed.join("\n")
    );
    files.len()
}
