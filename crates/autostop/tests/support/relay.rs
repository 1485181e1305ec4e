//! A TCP relay for the Blob state tests (shared by the CLI and `serve --ha` tests): Azurite behind a port that
//! the test can cut, as when the storage account becomes unreachable.

use std::sync::Arc;

/// A TCP relay to Azurite that can be cut: every connection through it closed and new ones refused, as when
/// the storage account becomes unreachable, while Azurite itself keeps what it stored for the test to read.
pub struct Relay {
    /// The loopback port it listens on.
    pub port: u16,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Relay {
    /// Starts relaying connections on a free loopback port to `target` on 127.0.0.1.
    pub async fn start(target: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let registry = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let connection = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(connection.abort_handle());
            }
        });
        tasks.lock().unwrap().push(accept.abort_handle());
        Relay { port, tasks }
    }

    /// Closes every connection and the listener.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}
