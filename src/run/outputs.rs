//! The other outputs: the rules' reference and the blank templates.

use super::*;

/// `bilan rules --reference OUT.md`: the Markdown reference of rules and templates.
pub fn write_reference(checker: &Checker, path: &Path) -> Result<(), RunError> {
    let text = crate::docs::reference(&checker.rules, &checker.templates);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir)?;
    }
    output::save(path, text.as_bytes())?;
    Ok(())
}

/// `bilan template ID -o OUT` / `--all DIR`: writes blank returns, and says
/// which (template id, path).
pub fn write_blanks(
    templates: &TemplateSet,
    rules: &crate::pipeline::rules::RulePack,
    id: Option<&str>,
    output_path: Option<&Path>,
    all: Option<&Path>,
    force: bool,
) -> Result<Vec<(String, PathBuf)>, RunError> {
    let jobs: Vec<(&crate::pipeline::template::Template, PathBuf)> = match (all, id) {
        (Some(dir), _) => {
            create_dir(dir)?;
            templates
                .all()
                .into_iter()
                .map(|t| (t, dir.join(format!("{}.xlsx", t.id))))
                .collect()
        }
        (None, Some(id)) => {
            let t = templates.get(id).ok_or_else(|| {
                message(format!(
                    "modèle « {id} » inconnu (modèles : {})",
                    templates.ids().join(", ")
                ))
            })?;
            let path = output_path.map_or_else(|| PathBuf::from(format!("{}.xlsx", t.id)), Path::to_path_buf);
            output_folder(&path, "-o")?;
            vec![(t, path)]
        }
        (None, None) => {
            return Err(message(
                "indiquez un modèle (bilan template ID -o SORTIE.xlsx) ou --all DOSSIER",
            ))
        }
    };
    if !force {
        if let Some((_, path)) = jobs.iter().find(|(_, p)| p.exists()) {
            return Err(message(format!(
                "« {} » existe déjà : ajoutez --force pour le remplacer",
                path.display()
            )));
        }
    }
    if let Some((_, path)) = jobs.iter().find(|(_, p)| !is_xlsx(p)) {
        return Err(message(format!(
            "un modèle vierge est un classeur Excel : donnez-lui un nom en .xlsx (et non « {} »)",
            path.display()
        )));
    }
    let mut done = Vec::new();
    for (t, path) in jobs {
        let bytes = crate::blank::blank_checked(t, rules).map_err(|e| message(e.to_string()))?;
        output::save(&path, &bytes)?;
        done.push((t.id.clone(), path));
    }
    Ok(done)
}
