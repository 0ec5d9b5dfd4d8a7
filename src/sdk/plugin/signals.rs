//! The two process signals `serve` reacts to, per platform.
//!
//! "terminate" always stops the server; "interrupt" (Ctrl-C) only in debug mode. On Windows
//! these follow Go's mapping, which go-plugin relies on: Ctrl-C and Ctrl-Break are an
//! interrupt; closing the console, logoff and shutdown are a terminate.

#[cfg(unix)]
mod imp {
    use std::io;

    use tokio::signal::unix::{signal, Signal, SignalKind};

    /// SIGTERM.
    pub(crate) struct Terminate(Signal);
    /// SIGINT.
    pub(crate) struct Interrupt(Signal);

    /// Registering replaces the default "exit now" disposition right away.
    pub(crate) fn terminate() -> io::Result<Terminate> {
        signal(SignalKind::terminate()).map(Terminate)
    }

    pub(crate) fn interrupt() -> io::Result<Interrupt> {
        signal(SignalKind::interrupt()).map(Interrupt)
    }

    impl Terminate {
        pub(crate) async fn recv(&mut self) -> Option<()> {
            self.0.recv().await
        }
    }

    impl Interrupt {
        pub(crate) async fn recv(&mut self) -> Option<()> {
            self.0.recv().await
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::io;

    use tokio::signal::windows::{
        ctrl_break, ctrl_c, ctrl_close, ctrl_logoff, ctrl_shutdown, CtrlBreak, CtrlC, CtrlClose,
        CtrlLogoff, CtrlShutdown,
    };

    pub(crate) struct Terminate(CtrlClose, CtrlLogoff, CtrlShutdown);
    pub(crate) struct Interrupt(CtrlC, CtrlBreak);

    pub(crate) fn terminate() -> io::Result<Terminate> {
        Ok(Terminate(ctrl_close()?, ctrl_logoff()?, ctrl_shutdown()?))
    }

    pub(crate) fn interrupt() -> io::Result<Interrupt> {
        Ok(Interrupt(ctrl_c()?, ctrl_break()?))
    }

    impl Terminate {
        pub(crate) async fn recv(&mut self) -> Option<()> {
            tokio::select! {
                r = self.0.recv() => r,
                r = self.1.recv() => r,
                r = self.2.recv() => r,
            }
        }
    }

    impl Interrupt {
        pub(crate) async fn recv(&mut self) -> Option<()> {
            tokio::select! {
                r = self.0.recv() => r,
                r = self.1.recv() => r,
            }
        }
    }
}

pub(crate) use imp::{interrupt, terminate};
