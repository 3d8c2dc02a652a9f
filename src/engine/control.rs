//! The trainer's side of the command channel: pause/resume/stop between steps, the ratio the user
//! is looking at, and waiting for the answer to a ticket offer.

use crossbeam_channel::Receiver;

use super::events::Command;
use crate::error::EbtError;

/// What the user decided about an offered ticket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TicketAnswer {
    Confirm { ratio: f64 },
    Reject,
}

/// Commands seen so far; polled between optimiser steps (never blocks unless paused).
pub struct Control<'a> {
    rx: &'a Receiver<Command>,
    /// Ratio the dashboard shows; tickets are offered for it.
    pub selected_ratio: f64,
    stopped: bool,
}

impl<'a> Control<'a> {
    pub fn new(rx: &'a Receiver<Command>, selected_ratio: f64) -> Self {
        Self {
            rx,
            selected_ratio,
            stopped: false,
        }
    }

    /// Drains pending commands; blocks while paused. `Err(Stopped)` once the user stopped.
    pub fn poll(&mut self) -> Result<(), EbtError> {
        while let Ok(cmd) = self.rx.try_recv() {
            self.handle(cmd, false)?;
        }
        if self.stopped {
            return Err(EbtError::Stopped);
        }
        Ok(())
    }

    fn handle(
        &mut self,
        cmd: Command,
        waiting_ticket: bool,
    ) -> Result<Option<TicketAnswer>, EbtError> {
        match cmd {
            Command::SelectRatio(r) => self.selected_ratio = r,
            Command::Stop => {
                self.stopped = true;
                return Err(EbtError::Stopped);
            }
            Command::Pause => {
                // Block until resumed or stopped; other commands still count while paused.
                loop {
                    match self.rx.recv() {
                        Ok(Command::Resume) => break,
                        Ok(Command::Stop) | Err(_) => {
                            self.stopped = true;
                            return Err(EbtError::Stopped);
                        }
                        Ok(Command::SelectRatio(r)) => self.selected_ratio = r,
                        Ok(_) => {}
                    }
                }
            }
            Command::Resume => {}
            Command::ConfirmTicket { ratio } if waiting_ticket => {
                return Ok(Some(TicketAnswer::Confirm { ratio }));
            }
            Command::RejectTicket if waiting_ticket => return Ok(Some(TicketAnswer::Reject)),
            Command::ConfirmTicket { .. } | Command::RejectTicket => {}
        }
        Ok(None)
    }

    /// Blocks until the user confirms or rejects the offered ticket. A closed channel (the UI
    /// went away) counts as a stop.
    pub fn wait_ticket_answer(&mut self) -> Result<TicketAnswer, EbtError> {
        loop {
            match self.rx.recv() {
                Ok(cmd) => {
                    if let Some(a) = self.handle(cmd, true)? {
                        return Ok(a);
                    }
                }
                Err(_) => return Err(EbtError::Stopped),
            }
        }
    }
}
