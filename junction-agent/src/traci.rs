//! A small TraCI client (SUMO's TCP control protocol, big-endian): the commands the
//! `sumo` driver and the signals benchmark use — version, simulation step, lane queues
//! and vehicles, vehicle speed, induction loops, traffic-light state, close — and nothing else.
//!
//! Message: u32 total length, then commands `[len u8 | 0 + u32][id][payload]`. Every
//! command is answered by a status `[len][id][result u8][description string]`; `get`
//! commands add a response `[len][id + 0x10][variable][object id][type][value]`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const CMD_GETVERSION: u8 = 0x00;
const CMD_SIMSTEP: u8 = 0x02;
const CMD_CLOSE: u8 = 0x7f;
const GET_INDUCTION_LOOP: u8 = 0xa0;
const GET_TL: u8 = 0xa2;
const GET_LANE: u8 = 0xa3;
const GET_VEHICLE: u8 = 0xa4;
const VAR_SPEED: u8 = 0x40;
const TYPE_DOUBLE: u8 = 0x0b;
const LAST_STEP_VEHICLE_ID_LIST: u8 = 0x12;
const SET_TL: u8 = 0xc2;
const LAST_STEP_VEHICLE_HALTING_NUMBER: u8 = 0x14;
const TL_RED_YELLOW_GREEN_STATE: u8 = 0x20;
const TYPE_INT: u8 = 0x09;
const TYPE_STRING: u8 = 0x0c;
const TYPE_STRINGLIST: u8 = 0x0e;

pub struct Traci {
    stream: TcpStream,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        let end =
            self.at.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or_else(|| bad("TraCI response too short"))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn i32(&mut self) -> io::Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn string(&mut self) -> io::Result<String> {
        let n = self.i32()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    /// A command's length prefix; returns the bytes left in it after the prefix.
    fn command_len(&mut self) -> io::Result<usize> {
        match self.u8()? {
            0 => Ok(self.i32()? as usize - 5),
            n => Ok(n as usize - 1),
        }
    }
}

fn command(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(payload.len() + 6);
    if payload.len() + 2 <= 255 {
        c.push((payload.len() + 2) as u8);
    } else {
        c.push(0);
        c.extend(((payload.len() + 6) as u32).to_be_bytes());
    }
    c.push(id);
    c.extend(payload);
    c
}

fn string(s: &str) -> Vec<u8> {
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend(s.as_bytes());
    v
}

impl Traci {
    /// Connects to a SUMO started with `--remote-port`, retrying while it starts.
    pub fn connect(port: u16, limit: Duration) -> io::Result<Traci> {
        let t = Instant::now();
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    return Ok(Traci { stream });
                }
                Err(e) if t.elapsed() >= limit => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends one command and returns the response payload after its status (empty for
    /// commands without a response).
    fn call(&mut self, id: u8, payload: &[u8]) -> io::Result<Vec<u8>> {
        let cmd = command(id, payload);
        let mut msg = ((cmd.len() + 4) as u32).to_be_bytes().to_vec();
        msg.extend(cmd);
        self.stream.write_all(&msg)?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len)?;
        let mut body = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        self.stream.read_exact(&mut body)?;
        let mut r = Reader { buf: &body, at: 0 };
        let n = r.command_len()?;
        let start = r.at;
        let (got, result) = (r.u8()?, r.u8()?);
        let description = r.string()?;
        if got != id || result != 0 {
            return Err(bad(format!("TraCI command 0x{id:02x} failed ({result}): {description}")));
        }
        r.at = start + n;
        Ok(body[r.at..].to_vec())
    }

    /// `get` of `variable` of `object`: the typed value's bytes after checking the type.
    fn get(&mut self, domain: u8, variable: u8, object: &str, want: u8) -> io::Result<Vec<u8>> {
        let mut payload = vec![variable];
        payload.extend(string(object));
        let body = self.call(domain, &payload)?;
        let mut r = Reader { buf: &body, at: 0 };
        r.command_len()?;
        let (resp, var) = (r.u8()?, r.u8()?);
        let _id = r.string()?;
        let ty = r.u8()?;
        if resp != domain + 0x10 || var != variable || ty != want {
            return Err(bad(format!("unexpected TraCI response 0x{resp:02x}/0x{var:02x}/type 0x{ty:02x}")));
        }
        Ok(body[r.at..].to_vec())
    }

    /// Vehicles standing (< 0.1 m/s) on `lane` in the last step.
    pub fn lane_halting(&mut self, lane: &str) -> io::Result<i32> {
        let v = self.get(GET_LANE, LAST_STEP_VEHICLE_HALTING_NUMBER, lane, TYPE_INT)?;
        Reader { buf: &v, at: 0 }.i32()
    }

    /// Vehicles on `lane` in the last step.
    pub fn lane_vehicle_ids(&mut self, lane: &str) -> io::Result<Vec<String>> {
        self.vehicle_ids(GET_LANE, lane)
    }

    /// The last step's vehicle id list of `object` in `domain` (lane, induction loop).
    fn vehicle_ids(&mut self, domain: u8, object: &str) -> io::Result<Vec<String>> {
        let v = self.get(domain, LAST_STEP_VEHICLE_ID_LIST, object, TYPE_STRINGLIST)?;
        let mut r = Reader { buf: &v, at: 0 };
        let n = r.i32()?;
        (0..n).map(|_| r.string()).collect()
    }

    /// Speed of `vehicle` (m/s).
    pub fn vehicle_speed(&mut self, vehicle: &str) -> io::Result<f64> {
        let v = self.get(GET_VEHICLE, VAR_SPEED, vehicle, TYPE_DOUBLE)?;
        let bytes: [u8; 8] = v.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("short TraCI double"))?;
        Ok(f64::from_be_bytes(bytes))
    }

    /// Vehicles on induction loop `detector` in the last step.
    pub fn loop_vehicle_ids(&mut self, detector: &str) -> io::Result<Vec<String>> {
        self.vehicle_ids(GET_INDUCTION_LOOP, detector)
    }

    /// What traffic light `tls` shows now (one character per link).
    pub fn tl_state(&mut self, tls: &str) -> io::Result<String> {
        let v = self.get(GET_TL, TL_RED_YELLOW_GREEN_STATE, tls, TYPE_STRING)?;
        Reader { buf: &v, at: 0 }.string()
    }

    /// Sets every link of traffic light `tls` (one character per link: r, y, g, G).
    pub fn set_tl_state(&mut self, tls: &str, state: &str) -> io::Result<()> {
        let mut payload = vec![TL_RED_YELLOW_GREEN_STATE];
        payload.extend(string(tls));
        payload.push(TYPE_STRING);
        payload.extend(string(state));
        self.call(SET_TL, &payload).map(|_| ())
    }

    pub fn version(&mut self) -> io::Result<(i32, String)> {
        let body = self.call(CMD_GETVERSION, &[])?;
        let mut r = Reader { buf: &body, at: 0 };
        r.command_len()?;
        r.u8()?;
        Ok((r.i32()?, r.string()?))
    }

    /// Advances the simulation to `time` seconds (0 = one step).
    pub fn step(&mut self, time: f64) -> io::Result<()> {
        self.call(CMD_SIMSTEP, &time.to_be_bytes()).map(|_| ())
    }

    pub fn close(mut self) -> io::Result<()> {
        self.call(CMD_CLOSE, &[]).map(|_| ())
    }
}
