//! Records kept from the parent tree, and the closure check of the final tree.
//!
//! A row that fails keeps its record byte for byte (`translate` decides which, by legacy key);
//! here its file is found in the parent tree and carried into the new one with its attachment
//! folder, and, for a kept person or project, the tag-assignments and memberships its row
//! would have produced (they are translated only from a row that passed).

use std::collections::BTreeMap;

use foldhash::{HashSet, HashSetExt};

use serde_json::{Map, Value};
use sheets::{DataRepo, SheetConfig};
use translate::Sheet;

use crate::{Fatal, ParentFiles, PlacedFile};

/// One kept record.
pub(crate) struct KeptRecord {
    pub sheet: Sheet,
    pub path: String,
    pub record: Map<String, Value>,
}

/// Everything kept from the parent tree: the records, and per sheet every file to carry over
/// (records and their attachments) by its blob id, paths from the repo root.
#[derive(Default)]
pub(crate) struct Kept {
    pub records: Vec<KeptRecord>,
    pub files: BTreeMap<Sheet, Vec<(String, sheets::ObjectId)>>,
}

/// The sheets a kept row's own children live in, matched by their owner field.
fn children_of(sheet: Sheet) -> &'static [Sheet] {
    match sheet {
        Sheet::People => &[Sheet::TagAssignments],
        Sheet::Projects => &[Sheet::TagAssignments, Sheet::ProjectMemberships],
        _ => &[],
    }
}

/// Find the parent-tree files of the kept records and their children.
pub(crate) fn kept_files(
    repo: &DataRepo,
    configs: &[(Sheet, SheetConfig)],
    parent: &ParentFiles,
    kept_stale: &[translate::KeptStale],
) -> Result<Kept, Fatal> {
    let mut wanted: HashSet<(Sheet, &str)> = HashSet::new();
    let mut owners: HashSet<(Sheet, &str)> = HashSet::new();
    for k in kept_stale {
        wanted.insert((k.sheet, &k.id));
        for child in children_of(k.sheet) {
            owners.insert((*child, &k.id));
        }
    }
    let mut kept = Kept::default();
    for (sheet, config) in configs {
        for f in parent.get(sheet).into_iter().flatten() {
            let is_kept =
                f.id.as_deref()
                    .is_some_and(|id| wanted.contains(&(*sheet, id)));
            let is_child = f
                .owner
                .as_deref()
                .is_some_and(|o| owners.contains(&(*sheet, o)));
            if !(is_kept || is_child) {
                continue;
            }
            let bytes = repo.read_object(f.blob)?.1;
            let record = config
                .decode(&f.path, &bytes)
                .map_err(|e| Fatal::Repo(sheets::RepoError::Sheet(e)))?;
            let files = kept.files.entry(*sheet).or_default();
            files.push((f.path.clone(), f.blob));
            files.extend(f.attachments.iter().map(|a| (a.path.clone(), a.id)));
            kept.records.push(KeptRecord {
                sheet: *sheet,
                path: f.path.clone(),
                record,
            });
        }
    }
    Ok(kept)
}

/// What the closure check of the tree the run would write needs from the repo: every
/// sheet's config, and the records of the sheets the run does not own as the parent tree
/// has them.
pub(crate) struct Closure {
    all: BTreeMap<String, SheetConfig>,
    others: Vec<(String, Vec<sheets::StoredRecord>)>,
}

impl Closure {
    /// Read the configs and the other sheets' records of `tree`.
    pub(crate) fn read(
        repo: &DataRepo,
        tree: sheets::ObjectId,
        configs: &[(Sheet, SheetConfig)],
    ) -> Result<Closure, Fatal> {
        let all = repo.sheet_configs(tree)?;
        let owned: HashSet<&str> = configs.iter().map(|(s, _)| s.as_str()).collect();
        let mut others = Vec::new();
        for (name, config) in all.iter().filter(|(n, _)| !owned.contains(n.as_str())) {
            others.push((name.clone(), repo.read_sheet(tree, config)?.records));
        }
        Ok(Closure { all, others })
    }

    /// The dangling references of the tree the run would write: the placed and kept records
    /// of the owned sheets, and every other sheet as the parent tree has it.
    pub(crate) fn dangling(
        &self,
        placed: &BTreeMap<Sheet, Vec<PlacedFile<'_>>>,
        kept: &[KeptRecord],
    ) -> Vec<sheets::Dangling> {
        let mut refs = Vec::new();
        for (sheet, files) in placed {
            refs.extend(files.iter().map(|f| sheets::RecordRef {
                sheet: sheet.as_str(),
                path: &f.path,
                record: f.record,
            }));
        }
        refs.extend(kept.iter().map(|k| sheets::RecordRef {
            sheet: k.sheet.as_str(),
            path: &k.path,
            record: &k.record,
        }));
        for (name, records) in &self.others {
            refs.extend(records.iter().map(|r| r.reference(name)));
        }
        let names: HashSet<&str> = self.all.keys().map(String::as_str).collect();
        let declared = self
            .all
            .iter()
            .filter(|(_, c)| !c.references.is_empty())
            .map(|(n, c)| (n.clone(), c.references.clone()))
            .collect();
        sheets::closure::check(&refs, &names, &declared)
    }
}
