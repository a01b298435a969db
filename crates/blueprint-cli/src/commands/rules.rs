//! `blueprint rules [CODE]`.

use blueprint_diagnostics::codes;

pub(crate) fn run(code: Option<&str>) -> u8 {
    match code {
        None => {
            println!("{:<8} {:<8} title", "code", "severity");
            for info in codes::ALL {
                // `Code` and `Severity` write their text without padding, so pad their strings.
                let (code, severity) = (info.code.to_string(), info.severity.to_string());
                println!("{code:<8} {severity:<8} {}", info.title);
            }
            println!("\n`blueprint rules CODE` explains one code at length.");
            0
        }
        Some(c) => match codes::explanation(c) {
            Some(page) => {
                print!("{page}");
                0
            }
            None => {
                eprintln!("error: unknown code `{c}`; `blueprint rules` lists them all");
                2
            }
        },
    }
}
