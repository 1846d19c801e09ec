//! The vocabulary and parameters of the synthetic exports: the period's shape, the funnel's
//! stage rates, the dirty-data shares, the export headers, and the channels, devices, event
//! names, countries, names, e-mail domains and campaigns with their weights and propensities.
//! Indexes into these tables (`u8`/`u16` codes) are what the generator passes around.

pub(super) const DAY: i64 = 86_400;
/// 0001-01-01T00:00:00Z in Unix seconds.
pub(super) const YEAR_1: i64 = -62_135_596_800;
/// Days before the period in which the "old" customers signed up.
pub(super) const PRE_PERIOD_DAYS: i64 = 365;
/// Share of customers who signed up before the period.
pub(super) const PRE_PERIOD_SIGNUPS: f64 = 0.2;
/// Density of in-period signups rises linearly by this factor from the first to the last day, minus one.
pub(super) const SIGNUP_GROWTH: f64 = 1.0;
/// Mean session rate of a customer while active, sessions per day (Gamma distributed).
pub(super) const SESSION_RATE_MEAN: f64 = 0.11;
/// Gamma shape of the session rate: below 1 gives a heavy tail of very active customers.
pub(super) const SESSION_RATE_SHAPE: f64 = 0.5;
/// For this many days after a purchase a customer's add-to-cart propensity is multiplied by
/// [`SATIATION_FACTOR`].
pub(super) const SATIATION_DAYS: i64 = 45;
pub(super) const SATIATION_FACTOR: f64 = 0.4;
/// Base probabilities of the funnel stages for a channel/device propensity of 1. Observed
/// over all sessions they come out near 60% / 35% / 55% / 65%: the add-to-cart base is
/// higher to make up for [`SATIATION_FACTOR`], the last two lower because the session mix
/// leans towards channels that convert well.
pub(super) const PRODUCT_VIEW_RATE: f64 = 0.60;
pub(super) const ADD_TO_CART_RATE: f64 = 0.51;
pub(super) const CHECKOUT_RATE: f64 = 0.51;
pub(super) const PURCHASE_RATE: f64 = 0.59;
/// After its active life a customer's session rate decays with this time constant, days.
pub(super) const DECAY_DAYS: f64 = 21.0;
pub(super) const DUP_SHARE: f64 = 0.005;
pub(super) const ORPHAN_SHARE: f64 = 0.005;
pub(super) const MISSING_SESSION_SHARE: f64 = 0.05;
pub(super) const MAX_SESSION_EVENTS: usize = 15;
/// Inactivity gap that separates sessions, seconds.
pub(super) const SESSION_GAP: i64 = 30 * 60;
pub(super) const BATCH_ROWS: usize = 65_536;
pub(super) const DUP_RING: usize = 4096;

pub(super) const CUSTOMERS_HEADER: [&str; 6] = [
    "customer_id",
    "email",
    "full_name",
    "signup_date",
    "acquisition_channel",
    "country",
];
pub(super) const EVENTS_HEADER: [&str; 8] = [
    "event_id",
    "user_id",
    "event_timestamp",
    "event_name",
    "channel",
    "campaign",
    "device",
    "session_id",
];
pub(super) const ORDERS_HEADER: [&str; 6] = [
    "order_id",
    "customer_id",
    "order_time",
    "amount",
    "currency",
    "status",
];

pub(super) const CHANNELS: [&str; 8] = [
    "organic_search",
    "paid_search",
    "email",
    "social",
    "direct",
    "referral",
    "display",
    "affiliate",
];
pub(super) const ORGANIC: u8 = 0;
pub(super) const PAID: u8 = 1;
pub(super) const EMAIL: u8 = 2;
pub(super) const SOCIAL: u8 = 3;
pub(super) const DIRECT: u8 = 4;
pub(super) const REFERRAL: u8 = 5;
pub(super) const DISPLAY: u8 = 6;
pub(super) const AFFILIATE: u8 = 7;
/// Share of each channel among the sessions that are not on the acquisition channel.
pub(super) const SESSION_CHANNEL_W: [f64; 8] = [0.26, 0.16, 0.11, 0.12, 0.16, 0.06, 0.08, 0.05];
/// Acquisition channel of new customers.
pub(super) const ACQUISITION_W: [f64; 8] = [0.27, 0.20, 0.04, 0.16, 0.10, 0.07, 0.08, 0.08];
/// Relative purchase propensity of a session by channel (applied as a square root to each
/// of the four funnel stages, so the session conversion scales with it).
pub(super) const CHANNEL_PROPENSITY: [f64; 8] = [1.0, 1.35, 1.45, 0.6, 1.15, 0.95, 0.5, 1.1];

pub(super) const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];
pub(super) const DEVICE_W: [f64; 3] = [0.36, 0.54, 0.10];
pub(super) const DEVICE_PROPENSITY: [f64; 3] = [1.2, 0.88, 1.0];

pub(super) const PAGE_VIEW: u8 = 0;
pub(super) const PRODUCT_VIEW: u8 = 1;
pub(super) const ADD_TO_CART: u8 = 2;
pub(super) const CHECKOUT_START: u8 = 3;
pub(super) const PURCHASE: u8 = 4;
pub(super) const SEARCH: u8 = 5;
pub(super) const SIGNUP: u8 = 6;
pub(super) const NEWSLETTER_OPEN: u8 = 7;
pub(super) const EVENT_NAMES: [&str; 8] = [
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "purchase",
    "search",
    "signup",
    "newsletter_open",
];

pub(super) const COUNTRIES: [&str; 10] =
    ["DE", "FR", "NL", "AT", "CH", "IT", "ES", "GB", "PL", "BE"];
pub(super) const COUNTRY_W: [f64; 10] =
    [0.30, 0.14, 0.09, 0.08, 0.07, 0.08, 0.08, 0.07, 0.05, 0.04];

pub(super) const FIRST_NAMES: [&str; 50] = [
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sofia",
    "Noah",
    "Emma",
    "Liam",
    "Mia",
    "Elias",
    "Léa",
    "Zoë",
    "José",
    "Søren",
    "Chloé",
    "Mateo",
    "Olivia",
    "Finn",
    "Ella",
    "Ben",
    "Hannah",
    "Paul",
    "Clara",
    "Leon",
    "Ida",
    "Maximilian",
    "Giulia",
    "Lucas",
    "Amélie",
    "Jan",
    "Björn",
    "François",
    "Małgorzata",
    "Sean",
    "Aoife",
    "Piotr",
    "Lotte",
    "Matteo",
    "Inès",
    "Oliver",
    "Charlotte",
    "Felix",
    "Laura",
    "Tom",
    "Julia",
    "David",
    "Sara",
    "Emil",
    "Nora",
    "Hugo",
];
pub(super) const LAST_NAMES: [&str; 40] = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Dubois",
    "Martin",
    "Bernard",
    "Lefèvre",
    "Rossi",
    "Russo",
    "Bianchi",
    "García",
    "Fernández",
    "López",
    "Kowalski",
    "Nowak",
    "Wiśniewska",
    "Jansen",
    "de Vries",
    "van der Berg",
    "Peeters",
    "O'Brien",
    "Łukasiewicz",
    "Núñez",
    "Østergaard",
    "Brontë",
    "Gruber",
    "Huber",
    "Keller",
    "Moreau",
];
pub(super) const NICKNAMES: [&str; 4] = ["Bob", "Kiki", "AJ", "Lenny"];
pub(super) const EMAIL_DOMAINS: [&str; 5] = [
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "post.example",
];

/// Campaign names; index 0 is "no campaign". `newsletter_w01`…`newsletter_w53` follow.
pub(super) const CAMPAIGNS: [&str; 22] = [
    "",
    "brand",
    "generic",
    "shopping",
    "welcome_series",
    "cart_reminder",
    "winback",
    "lookalike",
    "retargeting",
    "influencer",
    "prospecting",
    "partner_blog",
    "comparison_site",
    "press",
    "cashback",
    "vouchers",
    "partner_network",
    "spring_sale",
    "summer_sale",
    "black_friday",
    "christmas",
    "new_year_sale",
];
pub(super) const C_NONE: u16 = 0;
pub(super) const C_BRAND: u16 = 1;
pub(super) const C_GENERIC: u16 = 2;
pub(super) const C_SHOPPING: u16 = 3;
pub(super) const C_WELCOME: u16 = 4;
pub(super) const C_CART: u16 = 5;
pub(super) const C_WINBACK: u16 = 6;
pub(super) const C_LOOKALIKE: u16 = 7;
pub(super) const C_RETARGETING: u16 = 8;
pub(super) const C_INFLUENCER: u16 = 9;
pub(super) const C_PROSPECTING: u16 = 10;
pub(super) const C_PARTNER_BLOG: u16 = 11;
pub(super) const C_COMPARISON: u16 = 12;
pub(super) const C_PRESS: u16 = 13;
pub(super) const C_CASHBACK: u16 = 14;
pub(super) const C_VOUCHERS: u16 = 15;
pub(super) const C_PARTNER_NETWORK: u16 = 16;
pub(super) const C_SPRING: u16 = 17;
pub(super) const C_SUMMER: u16 = 18;
pub(super) const C_BLACK_FRIDAY: u16 = 19;
pub(super) const C_CHRISTMAS: u16 = 20;
pub(super) const C_NEW_YEAR: u16 = 21;
pub(super) const C_NEWSLETTER_W01: u16 = CAMPAIGNS.len() as u16;

/// Relative session volume by local hour, Monday to Friday.
pub(super) const HOUR_W_WEEKDAY: [f64; 24] = [
    0.9, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.6, 2.6, 3.2, 3.6, 4.0, 4.8, 4.9, 4.0, 3.7, 3.8, 4.1, 4.6,
    5.3, 5.7, 5.4, 4.0, 2.2,
];
/// Relative session volume by local hour, Saturday and Sunday (later mornings).
pub(super) const HOUR_W_WEEKEND: [f64; 24] = [
    1.4, 0.9, 0.5, 0.3, 0.2, 0.2, 0.4, 0.8, 1.5, 2.6, 3.6, 4.2, 4.6, 4.6, 4.3, 4.2, 4.2, 4.4, 4.8,
    5.4, 5.8, 5.5, 4.2, 2.6,
];
/// Relative session volume by local weekday, Monday first.
pub(super) const WEEKDAY_W: [f64; 7] = [1.06, 1.0, 0.98, 0.97, 0.92, 0.80, 0.95];

/// Cost per session by channel (EUR), index as [`CHANNELS`]; 0 = the channel costs nothing.
/// Social costs only for sessions with a campaign (paid social).
pub(super) const COST_PER_SESSION: [f64; 8] = [0.0, 1.50, 0.10, 1.10, 0.0, 0.0, 1.20, 0.90];
