//! The plan of `ARCHITECTURE.md`, checked: a room of `src/` imports only from rooms on lower
//! floors (or from itself), so no import runs upward and no two rooms import each other.
//!
//! Every non-comment mention of `crate::<room>` in a file of a room counts as an import of
//! that room (doc comments may point anywhere).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The floors, bottom up, as `ARCHITECTURE.md` and `src/lib.rs` list them. `sample` stands
/// apart on the floor of `sources`: it may import only the error and logging rooms.
const FLOORS: &[(&str, u32)] = &[
    ("error", 1),
    ("logging", 1),
    ("functions", 2),
    ("project", 3),
    ("sources", 4),
    ("sample", 4),
    ("engine", 5),
    ("journey", 6),
    ("report", 7),
    ("cli", 8),
];

fn room_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_room_imports_a_room_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let floors: BTreeMap<&str, u32> = FLOORS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut upward = Vec::new();
    let mut seen_rooms = 0;
    for file in &files {
        let Some(room) = room_of(&src, file) else {
            continue;
        };
        let Some(&floor) = floors.get(room.as_str()) else {
            // lib.rs and main.rs sit above every room.
            assert!(
                room == "lib" || room == "main",
                "{}: in no room of the plan (add it to FLOORS and ARCHITECTURE.md)",
                file.display()
            );
            continue;
        };
        seen_rooms += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for (line, what) in upward_imports(&room, floor, &text, &floors) {
            upward.push(format!(
                "{}:{line}: {what}",
                file.strip_prefix(&src).unwrap().display()
            ));
        }
    }
    assert!(seen_rooms > 30, "only {seen_rooms} files found under src/");
    assert!(
        upward.is_empty(),
        "imports against the plan:\n{}",
        upward.join("\n")
    );
}

/// The imports of a file of `room` (on `floor`) that run against the plan: (line, what).
fn upward_imports(
    room: &str,
    floor: u32,
    text: &str,
    floors: &BTreeMap<&str, u32>,
) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (i, _) in line.match_indices("crate::") {
            let name: String = line[i + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if let Some(&other) = floors.get(name.as_str())
                && name != room
                && (other >= floor || room == "sample" && other > 1)
            {
                found.push((
                    n + 1,
                    format!("room {room} (floor {floor}) imports {name} (floor {other})"),
                ));
            }
        }
    }
    found
}

/// The check itself can fail: `engine` importing `cli`, `sources` importing `engine` and
/// `sample` importing `functions` are caught; a doc comment and a lower room are not.
#[test]
fn an_upward_import_is_caught() {
    let floors: BTreeMap<&str, u32> = FLOORS.iter().copied().collect();
    let text =
        "use crate::cli::run::RunArgs;\n/// see [`crate::report`]\nuse crate::project::Config;";
    let found = upward_imports("engine", 5, text, &floors);
    assert_eq!(
        found,
        vec![(1, "room engine (floor 5) imports cli (floor 8)".to_string())]
    );
    assert_eq!(
        upward_imports(
            "sources",
            4,
            "let x = crate::engine::memory::jobs(None, None);",
            &floors
        )
        .len(),
        1
    );
    assert_eq!(
        upward_imports("sample", 4, "use crate::functions::TIMESTAMP;", &floors).len(),
        1
    );
    assert!(upward_imports("sample", 4, "use crate::error::Error;", &floors).is_empty());
}
