//! The photo pipeline on real camera JPEGs, as the phone runs it: decode → orient →
//! downscale → watermark → encode → hash → sign.
//!
//! ```text
//! cargo run --release -p fieldkit-e2e --bin photo-bench -- --font FONT --out DIR IN.jpg…
//! ```
//!
//! Each input is stamped with a demo capture context (a Shanghai shop, a GNSS fix, the
//! current time as the server-time estimate) and signed with a fixed test key (Ed25519, seed
//! `0x42` × 32: never a real device's), the receipts chained in input order. Writes
//! `DIR/NAME.jpg` and `DIR/NAME.receipt.json` (`{"receipt", "signature", "public_key"}`)
//! and prints one line per input on stdout: `NAME MILLISECONDS WIDTHxHEIGHT`, the median
//! over `--runs` of the whole job (file reading and writing excluded). The stage breakdown
//! (`--stages`) and the peak resident memory (`VmHWM` from `/proc/self/status`) go to
//! stderr. `bench/photo/run` runs it beside Pillow and ImageMagick; results are in
//! `bench/photo/RESULTS.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Parser;
use fieldkit_domain::clock::{EventTime, Hlc};
use fieldkit_domain::ids::{DeviceId, FactId, UserId, VisitId};
use fieldkit_domain::model::{LocationFix, LocationProvider, WgsPoint};
use fieldkit_domain::signing::{
    PhotoReceipt, RECEIPT_VERSION, ReceiptSigner, Sha256Hash, SignedReceipt, SoftwareKey, sign_receipt,
    verification_code,
};
use fieldkit_engine::photo::{
    CaptureContext, CaptureTime, PhotoInput, PhotoPipeline, PipelineConfig, ProcessedPhoto, StageTimings,
    WatermarkFonts,
};

#[derive(Parser)]
#[command(about = "Stamps and signs camera JPEGs as the phone does, and times it")]
struct Args {
    /// The watermark font (TrueType/OpenType or a .ttc collection with CJK glyphs).
    #[arg(long)]
    font: PathBuf,
    /// Font index inside a .ttc collection.
    #[arg(long, default_value_t = 0)]
    font_index: u32,
    /// Where to write NAME.jpg and NAME.receipt.json.
    #[arg(long)]
    out: PathBuf,
    /// Long edge of the output in pixels.
    #[arg(long, default_value_t = 1920)]
    long_edge: u32,
    /// JPEG quality.
    #[arg(long, default_value_t = 85)]
    quality: u8,
    /// Repetitions per input; the median is printed.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Print the median of each stage to stderr.
    #[arg(long)]
    stages: bool,
    /// Camera JPEGs.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// The fixed test key: Ed25519 from 32 bytes of 0x42.
const TEST_KEY_SEED: [u8; 32] = [0x42; 32];

fn main() -> Result<()> {
    let args = Args::parse();
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let font = std::fs::read(&args.font).with_context(|| format!("reading font {}", args.font.display()))?;
    let fonts = WatermarkFonts::load(font, args.font_index)?;
    let config =
        PipelineConfig { long_edge: args.long_edge, quality: args.quality, ..PipelineConfig::default() };
    let pipeline = PhotoPipeline::new(config, fonts)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;

    let mut phone = Phone {
        key: SoftwareKey::from_seed(&TEST_KEY_SEED),
        device_id: DeviceId::new(),
        rep_id: UserId::new(),
        visit_id: VisitId::new(),
        boot: Instant::now(),
        previous: None,
    };
    for input in &args.inputs {
        let name =
            input.file_stem().and_then(|s| s.to_str()).context("input without a file name")?.to_owned();
        let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        let mut totals = Vec::with_capacity(args.runs);
        let mut stages = Vec::with_capacity(args.runs);
        let mut last = None;
        for _ in 0..args.runs {
            let fact_id = FactId::new();
            let started = Instant::now();
            let (photo, signed) = phone.stamp_and_sign(&pipeline, &bytes, fact_id)?;
            totals.push(started.elapsed());
            stages.push(photo.timings);
            last = Some((photo, signed));
        }
        let Some((photo, signed)) = last else { bail!("no run") };
        phone.previous = Some(signed.receipt.receipt_hash());
        write_outputs(&args.out, &name, &photo, &signed, &phone.key)?;
        println!("{name} {:.1} {}x{}", ms(median(&mut totals)), photo.width, photo.height);
        if args.stages {
            eprintln!("{name} stages (median ms): {}", stage_medians(&stages));
        }
    }
    eprintln!("peak memory (VmHWM): {:.1} MB", peak_rss_kib() as f64 / 1024.0);
    Ok(())
}

/// What the phone knows when it takes a photo: its key, who and where it is, and the hash of
/// its last receipt.
struct Phone {
    key: SoftwareKey,
    device_id: DeviceId,
    rep_id: UserId,
    visit_id: VisitId,
    boot: Instant,
    previous: Option<Sha256Hash>,
}

impl Phone {
    /// One photo as the phone does it: the pipeline, then the receipt and its signature.
    fn stamp_and_sign(
        &self,
        pipeline: &PhotoPipeline,
        jpeg: &[u8],
        fact_id: FactId,
    ) -> Result<(ProcessedPhoto, SignedReceipt)> {
        let now_ms = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
        let fix = LocationFix {
            point: WgsPoint::new(31.230_416, 121.473_701)?,
            accuracy_m: 8.0,
            fix_time_ms: now_ms - 1_500,
            provider: LocationProvider::Gnss,
            is_mock: false,
        };
        let at = EventTime {
            device_ms: now_ms,
            hlc: Hlc { wall_ms: u64::try_from(now_ms)?, counter: 0, node: 1 },
            server_estimate_ms: Some(now_ms - 240),
        };
        let code = verification_code(fact_id);
        let ctx = CaptureContext {
            visit_id: Some(self.visit_id),
            customer_name: "全家便利店（南京东路店）FamilyMart".to_owned(),
            customer_address: "上海市黄浦区南京东路 353 号".to_owned(),
            rep_name: "张伟 Zhang Wei".to_owned(),
            fix: Some(fix),
            time: CaptureTime::from_event_time(&at),
            utc_offset_minutes: 480,
            verification_code: code.clone(),
        };
        let photo = pipeline.process(PhotoInput::Jpeg(jpeg), &ctx)?;
        let receipt = PhotoReceipt {
            version: RECEIPT_VERSION,
            fact_id,
            visit_id: Some(self.visit_id),
            rep_id: self.rep_id,
            device_id: self.device_id,
            key_id: self.key.public_key().key_id(),
            sha256: photo.sha256,
            size_bytes: photo.jpeg.len() as u64,
            width: photo.width,
            height: photo.height,
            dhash: photo.dhash,
            verification_code: code,
            fix: Some(fix),
            at,
            monotonic_ms: u64::try_from(self.boot.elapsed().as_millis())?,
            previous: self.previous,
        };
        let signature = sign_receipt(&receipt, &self.key)?;
        Ok((photo, SignedReceipt { receipt, signature }))
    }
}

fn write_outputs(
    dir: &Path,
    name: &str,
    photo: &ProcessedPhoto,
    signed: &SignedReceipt,
    key: &SoftwareKey,
) -> Result<()> {
    let jpg = dir.join(format!("{name}.jpg"));
    std::fs::write(&jpg, &photo.jpeg).with_context(|| format!("writing {}", jpg.display()))?;
    let doc = serde_json::json!({
        "receipt": signed.receipt,
        "signature": signed.signature,
        "public_key": key.public_key(),
    });
    let path = dir.join(format!("{name}.receipt.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn stage_medians(stages: &[StageTimings]) -> String {
    let pick = |f: fn(&StageTimings) -> Duration| {
        let mut v: Vec<Duration> = stages.iter().map(f).collect();
        ms(median(&mut v))
    };
    format!(
        "decode {:.1}, resize {:.1}, orient {:.1}, watermark {:.1}, encode {:.1}, hash {:.1}",
        pick(|s| s.decode),
        pick(|s| s.resize),
        pick(|s| s.orient),
        pick(|s| s.watermark),
        pick(|s| s.encode),
        pick(|s| s.hash),
    )
}

/// Peak resident set size so far, KiB (`VmHWM`), or 0 where /proc is missing.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}
