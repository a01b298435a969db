//! INI files (`odoo.conf`, `pgbackrest.conf`) read back and compared with the keys they were
//! rendered from: a value that smuggled a line break, a stray line or a lost key shows here.

use std::collections::BTreeMap;

/// Sections to keys to values (a key may repeat in pgBackRest, for list options).
pub type Ini = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// How strict the reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Odoo's configparser: a key once per section.
    Odoo,
    /// pgBackRest: list options repeat their key.
    PgBackRest,
}

/// Reads an INI file as the program that consumes it would, or says why it would not.
pub fn read(text: &str, flavor: Flavor) -> Result<Ini, Vec<String>> {
    let mut ini = Ini::new();
    let mut problems = Vec::new();
    let mut section: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = n + 1;
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_string());
            ini.entry(name.trim().to_string()).or_default();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            problems.push(format!(
                "line {at}: `{line}` is neither a section, a key = value line nor a comment"
            ));
            continue;
        };
        let Some(current) = &section else {
            problems.push(format!(
                "line {at}: key `{}` outside any section",
                key.trim()
            ));
            continue;
        };
        let values = ini
            .entry(current.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default();
        if flavor == Flavor::Odoo && !values.is_empty() {
            problems.push(format!(
                "line {at}: key `{}` appears twice in [{current}]",
                key.trim()
            ));
        }
        values.push(value.trim().to_string());
    }
    if problems.is_empty() {
        Ok(ini)
    } else {
        Err(problems)
    }
}

/// Every difference between a rendered INI file and the keys it was rendered from.
#[must_use]
pub fn verify(text: &str, flavor: Flavor, intended: &Ini) -> Vec<String> {
    let ini = match read(text, flavor) {
        Ok(ini) => ini,
        Err(problems) => return problems,
    };
    let mut problems = Vec::new();
    for (section, keys) in intended {
        for (key, values) in keys {
            match ini.get(section).and_then(|s| s.get(key)) {
                Some(found) if found == values => {}
                Some(found) => problems.push(format!(
                    "[{section}] {key} reads back as {found:?}, not {values:?}"
                )),
                None => problems.push(format!("[{section}] {key} is missing")),
            }
        }
    }
    for (section, keys) in &ini {
        for key in keys.keys() {
            if intended.get(section).is_none_or(|s| !s.contains_key(key)) {
                problems.push(format!("[{section}] {key} was not intended"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intended(pairs: &[(&str, &str, &[&str])]) -> Ini {
        let mut ini = Ini::new();
        for (s, k, v) in pairs {
            ini.entry((*s).to_string()).or_default().insert(
                (*k).to_string(),
                v.iter().map(|x| (*x).to_string()).collect(),
            );
        }
        ini
    }

    #[test]
    fn a_rendered_file_reads_back_to_exactly_its_keys() {
        let text = "[global]\nrepo1-path=/pgbackrest/lyon/prod\nrecovery-option=a=1\nrecovery-option=b=2\n\n[db]\npg1-path=/pgdata\n";
        let want = intended(&[
            ("global", "repo1-path", &["/pgbackrest/lyon/prod"]),
            ("global", "recovery-option", &["a=1", "b=2"]),
            ("db", "pg1-path", &["/pgdata"]),
        ]);
        assert_eq!(
            verify(text, Flavor::PgBackRest, &want),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_injected_line_or_a_lost_key_is_reported() {
        let want = intended(&[("options", "db_name", &["lyon"])]);
        let injected = "[options]\ndb_name = lyon\nadmin_passwd = x\n";
        assert!(
            verify(injected, Flavor::Odoo, &want)
                .iter()
                .any(|p| p.contains("admin_passwd was not intended"))
        );
        assert!(
            verify("[options]\n", Flavor::Odoo, &want)
                .iter()
                .any(|p| p.contains("db_name is missing"))
        );
        assert!(
            !verify(
                "[options]\ndb_name = lyon\ndb_name = paris\n",
                Flavor::Odoo,
                &want
            )
            .is_empty()
        );
        assert!(!verify("db_name = lyon\n", Flavor::Odoo, &want).is_empty());
    }
}
