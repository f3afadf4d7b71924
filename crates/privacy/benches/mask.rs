//! Masking throughput on about 1 MB of generated Japanese support chat (MNP
//! questions, plan talk, prices, dates, and now and then a phone number, a
//! reservation number, an email or a card). Prints one JSON line with MB/s and
//! microseconds per message. Run with `cargo bench -p tenmon-privacy --bench mask`.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;
use tenmon_privacy::{Masker, Vault};

const PLAIN: &[&str] = &[
    "MNPで他社から乗り換えたいのですが、手続きの流れを教えてください。",
    "5G ギガホ プレミアから ahamo に変更すると月額はいくらになりますか？",
    "iPhone 15 Pro の在庫はありますか。SH-54D でも構いません。",
    "料金は月額2,980円（税込3,278円）で、10GBまで使えます。",
    "2024年4月1日から新料金プランが始まります。受付は10:30から午後7時までです。",
    "eSIMの再発行は3回線までオンラインで手続きできます。",
    "注文番号 ORD-2024-000123 の配送状況を確認したいです。",
    "SIMロック解除は購入から100日経過後に可能です。手数料は0円です。",
    "機種代金は¥128,800、分割24回で1回あたり5,366円です。",
    "家族4人で契約すると1回線あたり最大1,100円割引になります。",
    "ご不便をおかけして申し訳ございません。担当者より折り返しご連絡いたします。",
    "Could you tell me how to transfer my number to another carrier?",
    "The new plan costs $29.99 per month and includes 20GB of data.",
    "ありがとうございます。引き続きよろしくお願いいたします。",
];

const WITH_DATA: &[&str] = &[
    "MNP予約番号は{res}です。有効期限は2024年4月15日です。",
    "携帯番号は{phone}、連絡先メールは{mail}です。",
    "自宅の電話番号 {land} にかけてください。",
    "カード番号 {card} で支払いたいのですが。",
    "〒100-0001 東京都千代田区千代田1-1、生年月日は1990年1月2日です。",
    "予約番号：{res}、電話：{phone}",
    "My phone number is {phone} and my email is {mail}.",
];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, m: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % m
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.next(10) as u8)).collect()
    }
}

fn corpus(target_bytes: usize) -> Vec<Vec<String>> {
    let mut rng = Lcg(0x2545F4914F6CDD1D);
    let mut conversations = Vec::new();
    let mut total = 0;
    while total < target_bytes {
        let mut conv = Vec::new();
        for _ in 0..12 {
            let msg = if rng.next(5) == 0 {
                WITH_DATA[rng.next(WITH_DATA.len())]
                    .replace("{res}", &format!("{}{}", 1 + rng.next(9), rng.digits(9)))
                    .replace("{phone}", &format!("0{}0-{}-{}", 7 + rng.next(3), rng.digits(4), rng.digits(4)))
                    .replace("{land}", &format!("03-{}-{}", rng.digits(4), rng.digits(4)))
                    .replace("{mail}", &format!("user{}@example.co.jp", rng.digits(4)))
                    .replace("{card}", "4111 1111 1111 1111")
            } else {
                let a = PLAIN[rng.next(PLAIN.len())];
                let b = PLAIN[rng.next(PLAIN.len())];
                format!("{a}{b}")
            };
            total += msg.len();
            conv.push(msg);
        }
        conversations.push(conv);
    }
    conversations
}

fn main() -> std::io::Result<()> {
    let conversations = corpus(1 << 20);
    let bytes: usize = conversations.iter().flatten().map(String::len).sum();
    let messages: usize = conversations.iter().map(Vec::len).sum();
    let masker = Masker::new();

    let mut best_mask = f64::MAX;
    let mut best_restore = f64::MAX;
    let mut masked_values = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let mut vaults = Vec::with_capacity(conversations.len());
        let mut masked = Vec::with_capacity(messages);
        for conv in &conversations {
            let mut vault = Vault::default();
            for msg in conv {
                masked.push(masker.mask(black_box(msg), &mut vault));
            }
            vaults.push(vault);
        }
        best_mask = best_mask.min(start.elapsed().as_secs_f64());
        masked_values = vaults.iter().map(Vault::len).sum();

        let start = Instant::now();
        let mut i = 0;
        for (conv, vault) in conversations.iter().zip(&vaults) {
            for _ in conv {
                black_box(vault.restore(&masked[i]));
                i += 1;
            }
        }
        best_restore = best_restore.min(start.elapsed().as_secs_f64());
    }

    let mb = bytes as f64 / 1e6;
    let report = format!(
        concat!(
            "{{\"bench\":\"mask\",\"bytes\":{},\"messages\":{},\"masked_values\":{},",
            "\"mask_mb_per_s\":{:.1},\"mask_us_per_message\":{:.2},",
            "\"restore_mb_per_s\":{:.1},\"restore_us_per_message\":{:.2}}}"
        ),
        bytes,
        messages,
        masked_values,
        mb / best_mask,
        best_mask * 1e6 / messages as f64,
        mb / best_restore,
        best_restore * 1e6 / messages as f64,
    );
    writeln!(std::io::stdout().lock(), "{report}")
}
