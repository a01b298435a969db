//! `blueprint rules [CODE]`.

use crate::out::{errln, out, outln};
use blueprint_diagnostics::codes;

pub(crate) fn run(code: Option<&str>) -> u8 {
    match code {
        None => {
            outln!("{:<8} {:<8} title", "code", "severity");
            for info in codes::ALL {
                // `Code` and `Severity` write their text without padding, so pad their strings.
                let (code, severity) = (info.code.to_string(), info.severity.to_string());
                outln!("{code:<8} {severity:<8} {}", info.title);
            }
            outln!("\n`blueprint rules CODE` explains one code at length.");
            0
        }
        Some(c) => match codes::explanation(c) {
            Some(page) => {
                out!("{page}");
                0
            }
            None => {
                errln!("error: unknown code `{c}`; `blueprint rules` lists them all");
                2
            }
        },
    }
}
