//! Knowledge-base search on the phone: 2,000 generated articles in Chinese and English
//! (titles and bodies of a few hundred characters drawn from a fixed vocabulary with a fixed
//! seed), published through `POST /v1/kb` to a real server on loopback and synced to one
//! phone, then `search_kb` timed for a fixed set of queries.
//!
//! ```text
//! cargo build --release -p fieldkit-e2e --bin kb-bench
//! target/release/kb-bench [--articles 2000 --repetitions 200 --limit 20]
//! ```
//!
//! Query classes: two-character Chinese words (below what trigrams index: a substring scan),
//! Chinese words of three characters or more (FTS5 trigram), English words, and two-word
//! queries. Prints the median and p99 per class and overall. Results are in BENCHMARKS.md.

use std::time::Instant;

use anyhow::Result;
use clap::Parser;
use fieldkit_e2e::harness::{Api, TestServer};
use reqwest::StatusCode;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Times knowledge-base search on a phone holding generated articles")]
struct Args {
    /// Articles published and synced.
    #[arg(long, default_value_t = 2_000)]
    articles: usize,
    /// Times each query is run (after one warm-up run).
    #[arg(long, default_value_t = 200)]
    repetitions: usize,
    /// Hits asked for per search (one page of results).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Seed of the generated articles.
    #[arg(long, default_value_t = 0x9e37_79b9_7f4a_7c15)]
    seed: u64,
}

/// Chinese words of the field-sales trade, two to four characters, separated by spaces.
const ZH: &str = "\
    新品 促销 陈列 冷柜 价格 库存 货架 门店 订单 退货 堆头 端架 试饮 买赠 满减 \
    拜访 客户 签到 无糖 包装 规格 季度 目标 培训 话术 竞品 价签 海报 地堆 \
    冰红茶 矿泉水 柠檬味 经销商 保质期 便利店 大卖场 陈列标准 促销活动 异议处理 \
    货架陈列 冷链配送 会员积分 首单优惠 终端形象 铺货率 动销 临期 补货";

/// English words of the same trade, separated by spaces.
const EN: &str = "\
    promotion display shelf discount inventory order store retailer cooler \
    price tag sample tasting bundle returns expiry planogram facing endcap \
    script objection competitor margin target quarter training lemon sugar \
    bottle case pallet distributor loyalty coupon visit checklist \
    merchandising restock launch flavour carton chilled listing rebate \
    invoice category brand poster";

/// The queries timed, by class.
const QUERIES: &[(&str, &[&str])] = &[
    ("zh, 2 chars", &["新品", "促销", "冷柜", "库存", "动销", "临期"]),
    ("zh, 3+ chars", &["冰红茶", "矿泉水", "陈列标准", "异议处理", "冷链配送", "铺货率"]),
    ("en, one word", &["promotion", "planogram", "cooler", "merchandising", "rebate", "Display"]),
    (
        "two words",
        &["shelf display", "lemon bottle", "冰红茶 陈列标准", "经销商 保质期", "新品 促销", "sugar 无糖"],
    ),
];

/// A xorshift64 generator: the same articles on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

/// Article `i`: three in five are Chinese (some naming an English brand word), the rest
/// English (some with a Chinese term). Bodies are 250–450 characters.
fn article(rng: &mut Rng, i: usize, zh: &[&str], en: &[&str]) -> (String, String, Vec<String>) {
    let chinese = rng.below(5) < 3;
    let target = 250 + rng.below(200);
    let mut body = String::new();
    if chinese {
        let title = format!("{}{}：{}（第{}期）", rng.pick(zh), rng.pick(zh), rng.pick(zh), i % 97 + 1);
        while body.chars().count() < target {
            for _ in 0..3 + rng.below(5) {
                body.push_str(rng.pick(zh));
                if rng.below(12) == 0 {
                    body.push(' ');
                    body.push_str(rng.pick(en));
                    body.push(' ');
                }
            }
            body.push(if rng.below(3) == 0 { '。' } else { '，' });
        }
        (title, body, vec![rng.pick(zh).to_owned()])
    } else {
        let (a, b, c) = (rng.pick(en), rng.pick(en), rng.pick(en));
        let mut first = a.chars();
        let a = first.next().map(|f| f.to_uppercase().chain(first).collect::<String>()).unwrap_or_default();
        let title = format!("{a} {b} and {c}, note {}", i % 89 + 1);
        while body.chars().count() < target {
            for w in 0..4 + rng.below(8) {
                if w > 0 {
                    body.push(' ');
                }
                body.push_str(if rng.below(20) == 0 { rng.pick(zh) } else { rng.pick(en) });
            }
            body.push_str(". ");
        }
        (title, body, vec![rng.pick(en).to_owned()])
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let server = TestServer::start().await?;
    let org = server.org("bench", 1).await?;
    let api = Api::new(&server.url);
    let started = Instant::now();
    let (zh, en): (Vec<&str>, Vec<&str>) = (ZH.split_whitespace().collect(), EN.split_whitespace().collect());
    let mut rng = Rng(args.seed);
    let mut chars = 0;
    for i in 0..args.articles {
        let (title, body, tags) = article(&mut rng, i, &zh, &en);
        chars += body.chars().count();
        let article = json!({ "title": title, "body": body, "tags": tags });
        let (status, answer) = api.send("POST", "/v1/kb", Some(&org.manager_token), Some(&article)).await?;
        anyhow::ensure!(status == StatusCode::CREATED, "article {i} refused: {status} {answer}");
    }
    eprintln!(
        "{} articles published ({} body characters on average) after {:.1} s",
        args.articles,
        chars / args.articles.max(1),
        started.elapsed().as_secs_f64()
    );
    let phone = server.phone("bench", "rep1").await?;
    let synced = Instant::now();
    let report = phone.kit.sync_now().await?;
    eprintln!("{} entries synced to the phone in {:.2} s", report.pulled, synced.elapsed().as_secs_f64());
    server.stop().await?; // searching is offline

    let mut all = Vec::new();
    for (class, queries) in QUERIES {
        let mut times = Vec::with_capacity(queries.len() * args.repetitions);
        for query in *queries {
            let hits = phone.kit.search_kb(query, args.limit)?;
            anyhow::ensure!(!hits.is_empty(), "query {query:?} finds nothing");
            eprintln!(
                "  {query:<16} {:>3} hits (page of {}), best: {}",
                hits.len(),
                args.limit,
                hits[0].title
            );
            for _ in 0..args.repetitions {
                let t = Instant::now();
                let hits = phone.kit.search_kb(query, args.limit)?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                std::hint::black_box(hits);
            }
        }
        all.extend_from_slice(&times);
        print_line(class, &mut times);
    }
    print_line("overall", &mut all);
    Ok(())
}

/// Prints the median, p99 and max of `times` (milliseconds).
fn print_line(class: &str, times: &mut [f64]) {
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times.get(((times.len().max(1) - 1) as f64 * q).round() as usize).copied();
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3} ms"));
    println!(
        "search_kb {class:<14} {:>6} searches: median {}, p99 {}, max {}",
        times.len(),
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(pick(1.0))
    );
}
