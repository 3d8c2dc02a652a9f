//! The headless front end: the same event stream as the dashboard, printed as lines — one per
//! epoch, one per mask snapshot, the ticket, warnings (stderr) and the final comparison table.

use std::io::Write;

use crate::engine::events::{RunKind, TrainerEvent};
use crate::report::comparison_table;
use crate::run_dir::format_ratio;

/// Prints events until the trainer is done. Returns nothing: the exit code comes from the thread.
pub fn print_events(
    events: &crossbeam_channel::Receiver<TrainerEvent>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let mut total = (0usize, 0usize, 0usize);
    for ev in events.iter() {
        let _ = match &ev {
            TrainerEvent::RunStarted(i) => {
                total = (i.max_search_epochs, i.epochs, i.retrain_epochs);
                writeln!(
                    out,
                    "ebt: {} on {} ({} train / {} test, {} classes), {} params; {} masks, {} scope, ratios {:?}, ε = {}, window {}\n     run dir {}",
                    i.model,
                    i.dataset,
                    i.train_examples,
                    i.test_examples,
                    i.num_classes,
                    i.params,
                    i.prune_kind,
                    i.scope,
                    i.ratios,
                    i.epsilon,
                    i.window,
                    i.run_dir.display()
                )
            }
            TrainerEvent::Phase(p) => writeln!(out, "── {} ──", p.label()),
            TrainerEvent::Progress { .. } => Ok(()),
            TrainerEvent::Epoch(m) => {
                let of = match m.run {
                    RunKind::Search => total.0,
                    RunKind::Baseline => total.1,
                    RunKind::Pruned | RunKind::Random => total.2,
                };
                writeln!(
                    out,
                    "{:<8} epoch {:>3}/{:<3} train loss {:.4}  eval loss {:.4}  acc {:6.2}%  lr {:.2e}  {:.1}s",
                    m.run.as_str(),
                    m.epoch,
                    of,
                    m.train_loss,
                    m.eval_loss,
                    m.eval_acc * 100.0,
                    m.lr,
                    m.seconds
                )
            }
            TrainerEvent::Masks(s) => {
                let parts: Vec<String> = s
                    .ratios
                    .iter()
                    .map(|r| {
                        let prev = r.distances.last().copied();
                        let prevp = r.pruned_distances.last().copied();
                        match (prev, prevp) {
                            (Some(d), Some(dp)) => format!(
                                "p={} d={:.4} (pruned {:.3}, from first {:.3})",
                                format_ratio(r.ratio),
                                d,
                                dp,
                                r.distance_to_first
                            ),
                            _ => format!("p={} first mask", format_ratio(r.ratio)),
                        }
                    })
                    .collect();
                writeln!(out, "  masks #{}: {}", s.index, parts.join(" | "))
            }
            TrainerEvent::TicketCandidate(c) => writeln!(
                out,
                "  early-bird criterion holds at p={} (epoch {}; window distances {:?})",
                format_ratio(c.ratio),
                c.epoch,
                c.window_distances.iter().map(|d| (d * 1e4).round() / 1e4).collect::<Vec<_>>()
            ),
            TrainerEvent::TicketConfirmed {
                ratio,
                epoch,
                converged,
                retrain_epochs,
                ..
            } => {
                total.2 = *retrain_epochs;
                writeln!(
                out,
                "ticket: p={} at epoch {}{}",
                format_ratio(*ratio),
                epoch,
                if *converged { "" } else { " (not converged)" }
            )
            }
            TrainerEvent::Pruned {
                params,
                bytes,
                heads,
                neurons,
            } => writeln!(out, "pruned model: {params} params, {bytes} bytes; heads per block {heads:?}; neurons per block {neurons:?}"),
            TrainerEvent::Comparison(c) => writeln!(out, "\n{}", comparison_table(c)),
            TrainerEvent::Note(n) => writeln!(out, "note: {n}"),
            TrainerEvent::Warning(w) => writeln!(err, "warning: {w}"),
            TrainerEvent::Error(e) => writeln!(err, "error: {e}"),
            TrainerEvent::Done { run_dir } => {
                let _ = writeln!(out, "outputs in {}", run_dir.display());
                let _ = out.flush();
                break;
            }
        };
        let _ = out.flush();
    }
}
