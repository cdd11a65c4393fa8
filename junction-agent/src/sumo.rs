//! The `sumo` driver: shows the controller's lamps on a SUMO traffic light over TraCI.
//!
//! Each movement of a SUMO junction's profile is one or more of the light's link
//! indices. Green becomes SUMO's 'G' (priority) unless the link must yield to another
//! link green at the same moment (SUMO's right-of-way `response`: a permissive turn
//! across oncoming traffic), then 'g'; yellow 'y', red 'r' (or 's' where the network lets the link turn on red after
//! stopping). The state is only sent when
//! it changes. The TraCI connection is shared with whoever steps the simulation.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;

use super::controller::Lamps;
use super::driver::SignalDriver;
use super::traci::Traci;

pub struct SumoDriver {
    traci: Arc<Mutex<Traci>>,
    tls: String,
    /// Per link index: the movement (profile order) that drives it, if any.
    movement_of_link: Vec<Option<usize>>,
    /// Per link index: the links it must yield to.
    yields_to: Vec<Vec<usize>>,
    /// Per link index: what red shows ('r', or 's' where the network lets it turn on red
    /// after stopping).
    red: Vec<char>,
    last: String,
}

impl SumoDriver {
    pub fn new(
        traci: Arc<Mutex<Traci>>,
        tls: &str,
        movement_of_link: Vec<Option<usize>>,
        yields_to: Vec<Vec<usize>>,
        red: Vec<char>,
    ) -> SumoDriver {
        SumoDriver { traci, tls: tls.into(), movement_of_link, yields_to, red, last: String::new() }
    }
}

impl SignalDriver for SumoDriver {
    fn apply(&mut self, _now_ms: i64, _movements: &[String], lamps: &Lamps) -> io::Result<()> {
        let state = sumo_state(&self.movement_of_link, &self.yields_to, &self.red, lamps);
        if state != self.last {
            self.traci.lock().set_tl_state(&self.tls, &state)?;
            self.last = state;
        }
        Ok(())
    }
}

/// The SUMO state string for `lamps`.
pub fn sumo_state(movement_of_link: &[Option<usize>], yields_to: &[Vec<usize>], red: &[char], lamps: &Lamps) -> String {
    let lamp =
        |link: usize| movement_of_link.get(link).copied().flatten().and_then(|m| lamps.get(m).copied()).unwrap_or('R');
    (0..movement_of_link.len())
        .map(|k| match lamp(k) {
            'G' if yields_to.get(k).is_some_and(|y| y.iter().any(|&o| lamp(o) != 'R')) => 'g',
            'G' => 'G',
            'Y' => 'y',
            _ => red.get(k).copied().unwrap_or('r'),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissive_links_yield_only_while_their_foe_moves() {
        // Links: 0 through (movement 0), 1 left turn yielding to 2 (movement 1), 2 oncoming
        // through (movement 2), 3 unsignalled by any movement.
        let links = vec![Some(0), Some(1), Some(2), None];
        let yields = vec![vec![], vec![2], vec![], vec![]];
        let red = vec!['s', 'r', 'r', 's'];
        assert_eq!(sumo_state(&links, &yields, &red, &vec!['G', 'G', 'G']), "GgGs");
        assert_eq!(sumo_state(&links, &yields, &red, &vec!['R', 'G', 'R']), "sGrs");
        assert_eq!(sumo_state(&links, &yields, &red, &vec!['Y', 'G', 'Y']), "ygys");
    }
}
