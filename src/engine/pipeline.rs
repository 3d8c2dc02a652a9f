//! The pipeline as one readable sequence of phases. Every phase reports through the `Recorder`;
//! the training loop itself knows nothing about pruning (masks reach it through the optimizer).
//!
//! ```text
//! load ─► search (dense training, masks every epoch) ─► ticket ─► prune ─► retrain pruned
//!                    │ (search.apply = false: the search is the baseline's first epochs)
//!                    └──────────────► continue dense to train.epochs (baseline) ─► random control ─► compare
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use candle_core::{Device, Tensor};
use crossbeam_channel::{Receiver, Sender};

use super::build::model_init;
use super::control::{Control, TicketAnswer};
use super::events::*;
use super::masks::MaskMaker;
use super::recorder::Recorder;
use super::EngineOptions;
use crate::config::ExperimentConfig;
use crate::data::{self, Dataset};
use crate::error::EbtError;
use crate::models::{ArchConfig, Classifier, DropoutRng, ParamStore};
use crate::prune::distance::DistanceKind;
use crate::prune::tracker::SearchTracker;
use crate::report::{self, Summary};
use crate::run_dir::{write_atomic, RunDir};
use crate::train::{evaluate, median, train_epoch, AdamW, EpochStats, Schedule, StepControl};

/// Batch size used for evaluation (no graph, so larger is fine).
const EVAL_BATCH: usize = 256;

/// A model being trained: its parameters, the two views of it, and its optimizer.
struct Trainee {
    arch: ArchConfig,
    store: ParamStore,
    train_model: Box<dyn Classifier>,
    eval_model: Box<dyn Classifier>,
    opt: AdamW,
    schedule: Schedule,
    global_step: usize,
    step_ms: Vec<f64>,
    /// Seconds spent training + evaluating (mask bookkeeping excluded).
    seconds: f64,
    last_acc: f64,
}

impl Trainee {
    fn new(
        arch: ArchConfig,
        store: ParamStore,
        cfg: &ExperimentConfig,
        epochs: usize,
        steps_per_epoch: usize,
        dropout_seed: u64,
    ) -> Result<Self, EbtError> {
        let train_model = arch.build(store.train_builder(), DropoutRng::new(dropout_seed))?;
        let eval_model = arch.build(store.eval_builder(), DropoutRng::new(dropout_seed))?;
        let t = &cfg.train;
        let opt = AdamW::new(store.vars(), t.weight_decay, t.grad_clip)?;
        let schedule = Schedule::new(
            t.lr,
            epochs * steps_per_epoch,
            t.warmup_fraction,
            &t.schedule,
        );
        Ok(Self {
            arch,
            store,
            train_model,
            eval_model,
            opt,
            schedule,
            global_step: 0,
            step_ms: Vec::new(),
            seconds: 0.0,
            last_acc: 0.0,
        })
    }
}

/// Everything the phases share.
struct Ctx<'a> {
    cfg: &'a ExperimentConfig,
    data: Dataset,
    device: Device,
    rec: Recorder,
    control: Control<'a>,
    steps_per_epoch: usize,
    /// The pretrained starting weights (fresh head included) that `reinit` rewinds to.
    rewind: Option<BTreeMap<String, Tensor>>,
}

impl Ctx<'_> {
    /// Trains `t` for one epoch (`epoch` is 1-based within its run), evaluates, records.
    fn epoch(&mut self, t: &mut Trainee, run: RunKind, epoch: usize) -> Result<(), EbtError> {
        let stats = self.train_part(t, run, epoch, 0..usize::MAX)?;
        self.finish_epoch(t, run, epoch, stats)
    }

    /// Trains `t` on the batches `batches` of epoch `epoch` (its whole shuffled order is fixed by
    /// the seed and the epoch, so an epoch may be trained in several parts).
    fn train_part(
        &mut self,
        t: &mut Trainee,
        run: RunKind,
        epoch: usize,
        batches: std::ops::Range<usize>,
    ) -> Result<EpochStats, EbtError> {
        let start = Instant::now();
        let seed = self
            .cfg
            .train
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(epoch as u64);
        let batch = self.cfg.train.batch_size;
        let mut err: Option<EbtError> = None;
        let mut stats = {
            let Trainee {
                train_model,
                opt,
                schedule,
                global_step,
                ..
            } = t;
            let rec = &self.rec;
            let control = &mut self.control;
            let mut hook =
                |step: usize, steps: usize, _global: usize| -> candle_core::Result<StepControl> {
                    rec.emit(TrainerEvent::Progress {
                        run,
                        epoch,
                        step,
                        steps,
                    });
                    match control.poll() {
                        Ok(()) => Ok(StepControl::Continue),
                        Err(e) => {
                            err = Some(e);
                            Ok(StepControl::Stop)
                        }
                    }
                };
            train_epoch(
                train_model.as_ref(),
                opt,
                schedule,
                global_step,
                &self.data.train,
                &self.data.shape,
                batch,
                seed,
                batches,
                &self.device,
                &mut hook,
            )?
        };
        if let Some(e) = err {
            return Err(e);
        }
        t.seconds += start.elapsed().as_secs_f64();
        t.step_ms.extend_from_slice(&stats.step_ms);
        stats.seconds = start.elapsed().as_secs_f64();
        Ok(stats)
    }

    /// Evaluates `t` after (all parts of) epoch `epoch` and records the epoch's metrics.
    fn finish_epoch(
        &mut self,
        t: &mut Trainee,
        run: RunKind,
        epoch: usize,
        stats: EpochStats,
    ) -> Result<(), EbtError> {
        let start = Instant::now();
        let (eval_loss, eval_acc) = evaluate(
            t.eval_model.as_ref(),
            &self.data.test,
            &self.data.shape,
            EVAL_BATCH,
            &self.device,
        )?;
        let eval_seconds = start.elapsed().as_secs_f64();
        t.seconds += eval_seconds;
        t.last_acc = eval_acc;
        self.rec.epoch(EpochMetrics {
            run,
            epoch,
            train_loss: stats.loss,
            eval_loss,
            eval_acc,
            lr: stats.lr,
            seconds: stats.seconds + eval_seconds,
        })
    }
}

/// The `train.device`; a CUDA request on a build without CUDA is a config error, not a panic.
fn open_device(name: &str) -> Result<Device, EbtError> {
    match crate::config::parse_device(name) {
        Some((true, n)) => Device::new_cuda(n).map_err(|e| {
            EbtError::config(format!(
                "train.device: {name}: {e} (CUDA needs `cargo build --release --features cuda` \
                 with the CUDA toolkit installed; or run on the CPU: --set train.device=\"cpu\")"
            ))
        }),
        _ => Ok(Device::Cpu),
    }
}

/// Ends of the parts an epoch of `steps` batches is trained in: every `every` steps (0: whole).
fn part_ends(steps: usize, every: usize) -> Vec<usize> {
    if every == 0 || every >= steps {
        return vec![steps];
    }
    let mut ends: Vec<usize> = (1..)
        .map(|k| k * every)
        .take_while(|&e| e < steps)
        .collect();
    ends.push(steps);
    ends
}

/// The confirmed ticket.
struct Ticket {
    ratio: f64,
    index: usize,
    epoch: usize,
    converged: bool,
    mask: crate::prune::mask::Mask,
    /// Dense weights at the ticket's snapshot.
    weights: BTreeMap<String, Tensor>,
    /// Optimiser step of the dense run at the ticket.
    global_step: usize,
    window_distances: Vec<f64>,
}

/// Runs the whole pipeline; returns when finished or stopped.
pub fn run(
    cfg: &ExperimentConfig,
    opts: &EngineOptions,
    tx: &Sender<TrainerEvent>,
    commands: &Receiver<Command>,
) -> Result<(), EbtError> {
    let t_total = Instant::now();
    let _ = tx.send(TrainerEvent::Phase(Phase::Loading));
    let notes = tx.clone();
    let _downloads = crate::hub::report_progress(move |line| {
        let _ = notes.send(TrainerEvent::Note(line));
    });
    let dir = RunDir::create(&opts.run_dir)?;
    write_atomic(&dir.config(), cfg.to_toml().as_bytes())?;
    // The device first: a missing GPU should not wait for a dataset download.
    let device = open_device(&cfg.train.device)?;
    let data = data::load(&cfg.data, &cfg.model, &dir, cfg.train.seed)?;
    if let Some(t) = &data.tokenizer {
        let _ = tx.send(TrainerEvent::Note(t.clone()));
    }
    if data.train.is_empty() || data.test.is_empty() {
        return Err(EbtError::data(format!(
            "{}: the train or test split is empty",
            data.name
        )));
    }
    let init = model_init(cfg, &data)?;
    let arch = init.arch.clone();
    let steps_per_epoch = data.train.len().div_ceil(cfg.train.batch_size);
    let epochs = cfg.train.epochs;
    let max_search = cfg.max_search_epochs();
    let seed = cfg.train.seed;

    let dense_store = init.store(seed, &device)?;
    // A fine-tuning run rewinds to the pretrained weights (`retrain.mode = "reinit"`), as
    // EarlyBERT does; from scratch, reinit draws a fresh init.
    let rewind = match init.weights {
        Some(_) => Some(dense_store.snapshot()?),
        None => None,
    };
    let mut dense = Trainee::new(
        arch.clone(),
        dense_store,
        cfg,
        epochs,
        steps_per_epoch,
        seed,
    )?;
    let maker = MaskMaker::new(cfg, &arch, &dense.store)?;
    let epsilon = cfg.epsilon();
    let mut ctx = Ctx {
        cfg,
        rec: Recorder::new(dir.clone(), tx.clone()),
        control: Control::new(commands, cfg.ticket.ratio),
        device: device.clone(),
        steps_per_epoch,
        data,
        rewind,
    };
    for note in &init.notes {
        ctx.rec.warn(format!("model.pretrained: {note}"));
    }
    ctx.rec.emit(TrainerEvent::RunStarted(RunInfo {
        model: arch.name().into(),
        dataset: ctx.data.name.clone(),
        num_classes: ctx.data.num_classes(),
        train_examples: ctx.data.train.len(),
        test_examples: ctx.data.test.len(),
        ratios: cfg.search.ratios.clone(),
        default_ratio: cfg.ticket.ratio,
        epsilon,
        window: cfg.search.window,
        prune_kind: cfg.prune.kind.clone(),
        scope: cfg.prune.scope.clone(),
        params: dense.store.num_params(),
        bytes: dense.store.num_bytes(),
        epochs,
        max_search_epochs: max_search,
        retrain_epochs: cfg.retrain_epochs(max_search),
        steps_per_epoch,
        retrain_continues: cfg.retrain.mode == "continue",
        num_layers: arch.structure().num_layers,
        run_dir: dir.root().to_path_buf(),
    }));
    let kind: DistanceKind = cfg.search.distance.parse()?;
    {
        for &r in &cfg.search.ratios {
            if crate::prune::early_bird::criterion_cannot_fail(kind, r, epsilon) {
                ctx.rec.warn(format!(
                    "ε = {epsilon} ≥ 2p at p = {r}: two masks at that ratio differ in at most 2p of the units, so the \
                     criterion cannot fail there; read the pruned-normalised distance or lower search.epsilon"
                ));
            }
        }
    }

    // ── search ──────────────────────────────────────────────────────────────────────────
    ctx.rec.emit(TrainerEvent::Phase(Phase::Searching));
    let mut tracker = SearchTracker::new(&cfg.search.ratios, cfg.search.window, epsilon, kind)?;
    let mut mask_seconds = 0.0;
    let mut ticket: Option<Ticket> = None;
    let mut search_epochs = 0;
    let mut snapshot_index = 0usize;
    // Masks are drawn at the end of every epoch, and every `search.every_steps` steps inside one.
    let part_ends = part_ends(steps_per_epoch, cfg.search.every_steps);
    let mut resume: Option<(usize, usize)> = None;
    'search: for epoch in 1..=max_search {
        let mut stats = EpochStats::default();
        let mut from = 0;
        for &end in &part_ends {
            stats.absorb(ctx.train_part(&mut dense, RunKind::Search, epoch, from..end)?);
            from = end;
            let epoch_done = end == steps_per_epoch;
            if epoch_done {
                ctx.finish_epoch(
                    &mut dense,
                    RunKind::Search,
                    epoch,
                    std::mem::take(&mut stats),
                )?;
                search_epochs = epoch;
            }
            let t0 = Instant::now();
            let weights = dense.store.snapshot()?;
            let masks = maker.masks(&weights)?;
            let (snap, candidates) = tracker.observe(
                snapshot_index,
                epoch,
                dense.global_step,
                masks.clone(),
                maker.layout(),
                maker.num_layers(),
            )?;
            ctx.rec.masks(snap)?;
            write_distances(&ctx.rec.dir, &tracker, &cfg.search.ratios)?;
            if cfg.search.apply {
                // Iterative pruning: the selected ratio's mask is applied from now on.
                if let Some((_, m)) = masks
                    .iter()
                    .find(|(r, _)| same(*r, ctx.control.selected_ratio))
                {
                    dense.opt.set_masks(maker.element_masks(m, &weights)?)?;
                }
            }
            mask_seconds += t0.elapsed().as_secs_f64();
            let index = snapshot_index;
            snapshot_index += 1;

            // Ticket decision.
            let wanted = if opts.interactive {
                ctx.control.selected_ratio
            } else {
                cfg.ticket.ratio
            };
            if let Some(c) = candidates.iter().find(|c| same(c.ratio, wanted)) {
                let take = if opts.interactive {
                    let mut offer = c.clone();
                    offer.awaiting_answer = true;
                    ctx.rec.emit(TrainerEvent::TicketCandidate(offer));
                    ctx.rec.emit(TrainerEvent::Phase(Phase::TicketOffered));
                    let answer = ctx.control.wait_ticket_answer()?;
                    ctx.rec.emit(TrainerEvent::Phase(Phase::Searching));
                    match answer {
                        TicketAnswer::Confirm { ratio } => Some(ratio),
                        TicketAnswer::Reject => None,
                    }
                } else {
                    ctx.rec.emit(TrainerEvent::TicketCandidate(c.clone()));
                    Some(c.ratio)
                };
                if let Some(ratio) = take {
                    let mask = masks
                        .iter()
                        .find(|(r, _)| same(*r, ratio))
                        .map(|(_, m)| m.clone())
                        .ok_or_else(|| {
                            EbtError::config(format!("ratio {ratio} is not one of search.ratios"))
                        })?;
                    let window_distances = candidates
                        .iter()
                        .find(|c| same(c.ratio, ratio))
                        .map(|c| c.window_distances.clone())
                        .unwrap_or_default();
                    ticket = Some(Ticket {
                        ratio,
                        index,
                        epoch,
                        converged: candidates.iter().any(|c| same(c.ratio, ratio)),
                        mask,
                        weights,
                        global_step: dense.global_step,
                        window_distances,
                    });
                    if !epoch_done {
                        // A ticket inside the epoch: record the partial epoch, then stop searching;
                        // the dense baseline trains the rest of this epoch.
                        resume = Some((epoch, end));
                        ctx.finish_epoch(
                            &mut dense,
                            RunKind::Search,
                            epoch,
                            std::mem::take(&mut stats),
                        )?;
                        search_epochs = epoch;
                    }
                    break 'search;
                }
            } else {
                for c in &candidates {
                    ctx.rec.emit(TrainerEvent::TicketCandidate(c.clone()));
                }
            }
        }
    }
    let ticket = match ticket {
        Some(t) => t,
        None => {
            let ratio = if opts.interactive {
                ctx.control.selected_ratio
            } else {
                cfg.ticket.ratio
            };
            ctx.rec.warn(format!(
                "no early-bird ticket at p = {ratio} within search.max_epochs = {max_search} (ε = {epsilon}); \
                 pruning with the mask of the last epoch"
            ));
            let weights = dense.store.snapshot()?;
            let mask = maker
                .masks(&weights)?
                .into_iter()
                .find(|(r, _)| same(*r, ratio))
                .map(|(_, m)| m)
                .ok_or_else(|| {
                    EbtError::config(format!("ratio {ratio} is not one of search.ratios"))
                })?;
            Ticket {
                ratio,
                index: snapshot_index.saturating_sub(1),
                epoch: search_epochs,
                converged: false,
                mask,
                weights,
                global_step: dense.global_step,
                window_distances: Vec::new(),
            }
        }
    };
    let retrain_epochs = cfg.retrain_epochs(ticket.epoch);
    ctx.rec.emit(TrainerEvent::TicketConfirmed {
        ratio: ticket.ratio,
        index: ticket.index,
        epoch: ticket.epoch,
        converged: ticket.converged,
        retrain_epochs,
    });
    let search_seconds = dense.seconds + mask_seconds;
    let first_tickets: Vec<(f64, Option<usize>)> = cfg
        .search
        .ratios
        .iter()
        .map(|&r| {
            (
                r,
                tracker
                    .first_ticket(r)
                    .and_then(|i| tracker.epochs().get(i).copied()),
            )
        })
        .collect();
    report::write_ticket(
        &ctx.rec.dir,
        ticket.ratio,
        ticket.index,
        ticket.epoch,
        ticket.converged,
        &ticket.window_distances,
        &first_tickets,
        &ctx.rec.snapshots,
    )?;

    // ── prune + retrain ────────────────────────────────────────────────────────────────
    ctx.rec.emit(TrainerEvent::Phase(Phase::Pruning));
    let t_prune = Instant::now();
    let mut pruned = prune_model(
        &mut ctx,
        &maker,
        &arch,
        &ticket,
        &ticket.mask,
        retrain_epochs,
        seed ^ 0x7ec4,
    )?;
    let prune_seconds = t_prune.elapsed().as_secs_f64();
    let (heads, neurons) = maker.unit_counts(&pruned.arch);
    let pruned_params = maker.effective_params(&pruned.store, &ticket.mask);
    ctx.rec.emit(TrainerEvent::Pruned {
        params: pruned_params,
        bytes: pruned.store.num_bytes(),
        heads,
        neurons,
    });
    ctx.rec.emit(TrainerEvent::Phase(Phase::Retraining));
    for e in 1..=retrain_epochs {
        ctx.epoch(&mut pruned, RunKind::Pruned, e)?;
    }
    report::save_pruned(&ctx.rec.dir, &pruned.arch, &pruned.store)?;
    let eb_seconds = search_seconds + prune_seconds + pruned.seconds;

    // ── baseline ──────────────────────────────────────────────────────────────────────
    ctx.rec.emit(TrainerEvent::Phase(Phase::Baseline));
    let baseline = if cfg.search.apply {
        // The search trained a masked model: the baseline is a fresh dense run.
        let store = init.store(seed, &device)?;
        let mut b = Trainee::new(arch.clone(), store, cfg, epochs, steps_per_epoch, seed)?;
        for e in 1..=epochs {
            ctx.epoch(&mut b, RunKind::Baseline, e)?;
        }
        b
    } else {
        if let Some((e, from)) = resume {
            let stats = ctx.train_part(&mut dense, RunKind::Baseline, e, from..usize::MAX)?;
            ctx.finish_epoch(&mut dense, RunKind::Baseline, e, stats)?;
        }
        for e in search_epochs + 1..=epochs {
            ctx.epoch(&mut dense, RunKind::Baseline, e)?;
        }
        dense
    };

    // ── random control ─────────────────────────────────────────────────────────────────
    let random = if cfg.retrain.random_control {
        ctx.rec.emit(TrainerEvent::Phase(Phase::Control));
        let rmask = maker.random_mask(ticket.ratio, seed ^ 0x4a4d)?;
        let mut r = prune_model(
            &mut ctx,
            &maker,
            &arch,
            &ticket,
            &rmask,
            retrain_epochs,
            seed ^ 0x7ec4,
        )?;
        for e in 1..=retrain_epochs {
            ctx.epoch(&mut r, RunKind::Random, e)?;
        }
        let params = maker.effective_params(&r.store, &rmask);
        Some((r, params))
    } else {
        None
    };

    // ── compare ────────────────────────────────────────────────────────────────────────
    let mut rows = vec![
        ComparisonRow {
            run: RunKind::Baseline,
            accuracy: baseline.last_acc,
            params: baseline.store.num_params(),
            bytes: baseline.store.num_bytes(),
            step_ms: median(&baseline.step_ms),
            seconds: baseline.seconds,
        },
        ComparisonRow {
            run: RunKind::Pruned,
            accuracy: pruned.last_acc,
            params: pruned_params,
            bytes: pruned.store.num_bytes(),
            step_ms: median(&pruned.step_ms),
            seconds: eb_seconds,
        },
    ];
    if let Some((r, params)) = &random {
        rows.push(ComparisonRow {
            run: RunKind::Random,
            accuracy: r.last_acc,
            params: *params,
            bytes: r.store.num_bytes(),
            step_ms: median(&r.step_ms),
            seconds: prune_seconds + r.seconds,
        });
    }
    let comparison = Comparison {
        ticket_ratio: ticket.ratio,
        ticket_epoch: ticket.epoch,
        converged: ticket.converged,
        rows,
    };
    let summary = Summary::new(
        cfg,
        &ctx.data,
        &comparison,
        search_epochs,
        search_seconds,
        mask_seconds,
        prune_seconds,
        t_total.elapsed().as_secs_f64(),
        &first_tickets,
    );
    report::write_summary(&ctx.rec.dir, &summary)?;
    ctx.rec.emit(TrainerEvent::Comparison(comparison));
    ctx.rec.emit(TrainerEvent::Phase(Phase::Finished));
    Ok(())
}

/// Builds the model of `mask` from the ticket's weights: structured masks are cut out (a smaller
/// config), unstructured masks are fixed in the optimizer. `continue` keeps the ticket's values and
/// goes on along the dense learning-rate schedule from the ticket's step; `reinit` starts a fresh
/// init of the pruned shape with a fresh schedule over `epochs`.
fn prune_model(
    ctx: &mut Ctx,
    maker: &MaskMaker,
    arch: &ArchConfig,
    ticket: &Ticket,
    mask: &crate::prune::mask::Mask,
    epochs: usize,
    reinit_seed: u64,
) -> Result<Trainee, EbtError> {
    let cfg = ctx.cfg;
    let reinit = cfg.retrain.mode == "reinit";
    let (new_arch, tensors, elem_masks) = maker.cut(arch, &ticket.weights, mask)?;
    let store = if let (true, Some(start)) = (reinit, &ctx.rewind) {
        let (_, rewound, _) = maker.cut(arch, start, mask)?;
        ParamStore::from_tensors(rewound, reinit_seed, &ctx.device)?
    } else if reinit {
        ParamStore::new(reinit_seed, &ctx.device)
    } else {
        ParamStore::from_tensors(tensors, cfg.train.seed, &ctx.device)?
    };
    let (schedule_epochs, start_step) = if reinit {
        (epochs, 0)
    } else {
        (ticket.epoch + epochs, ticket.global_step)
    };
    let mut t = Trainee::new(
        new_arch,
        store,
        cfg,
        schedule_epochs,
        ctx.steps_per_epoch,
        cfg.train.seed ^ 0xd409,
    )?;
    t.global_step = start_step;
    if let Some(m) = elem_masks {
        t.opt.set_masks(m)?;
    }
    Ok(t)
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn write_distances(dir: &RunDir, tracker: &SearchTracker, ratios: &[f64]) -> Result<(), EbtError> {
    for &r in ratios {
        if let Some(csv) = tracker.distances_csv(r, DistanceKind::Hamming) {
            write_atomic(&dir.distances(r), csv.as_bytes())?;
        }
        if let Some(csv) = tracker.distances_csv(r, DistanceKind::Pruned) {
            write_atomic(&dir.pruned_distances(r), csv.as_bytes())?;
        }
    }
    Ok(())
}
