//! The generated event: what `generate` hands to the `output` emitter, one per distinct event
//! (the emitter writes its duplicate rows too).

/// One distinct event (or a duplicate row of one).
#[derive(Clone, Copy)]
pub(super) struct Ev {
    pub(super) id: u64,
    pub(super) customer: u64,
    /// 0: no session id.
    pub(super) session: u64,
    pub(super) t: i64,
    pub(super) name: u8,
    pub(super) channel: u8,
    pub(super) device: u8,
    pub(super) campaign: u16,
    pub(super) orphan: bool,
}
