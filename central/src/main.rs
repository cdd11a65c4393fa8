//! `central`: for now, `central summarize < reports.jsonl` totals interval reports from
//! edge agents (MQTT ingest, storage and the API come with the data-path issue).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("summarize") {
        eprintln!("usage: central summarize < reports.jsonl   (reads `edge-agent run` output)");
        return ExitCode::from(2);
    }
    match central::summarize(std::io::stdin().lock()) {
        Ok(totals) => {
            for (camera, t) in totals {
                let coverage = if t.intervals > 0 { t.coverage_sum / t.intervals as f64 } else { 0.0 };
                println!("{camera}: {} intervals, mean coverage {:.2}", t.intervals, coverage);
                for (line, c) in t.lines {
                    println!("  {line}: forward {} backward {}", c.forward.total(), c.backward.total());
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("central: error: {e}");
            ExitCode::FAILURE
        }
    }
}
