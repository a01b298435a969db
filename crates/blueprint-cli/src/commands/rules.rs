//! `blueprint rules [CODE]`.

use blueprint_diagnostics::codes;

pub(crate) fn run(code: Option<&str>) -> u8 {
    match code {
        None => {
            println!("{:<8} {:<8} title", "code", "severity");
            for info in codes::ALL {
                println!("{:<8} {:<8} {}", info.code, info.severity, info.title);
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
