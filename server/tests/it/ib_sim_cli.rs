//! `fillbook ib-sim` as a process: a scenario file, the generator and a fault flag,
//! checked with the real client through Fillbook's adapter.

use fillbook::ib::{Gateway, IbConnectOptions, IbError};
use ibapi::orders::ExecutionFilter;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `fillbook ib-sim`, killed on drop.
struct SimProcess {
    child: Child,
    port: u16,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ib_sim(args: &[&str]) -> SimProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fillbook"))
        .arg("ib-sim")
        .args(args)
        .args(["--port", "0", "--log", "warn"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    SimProcess {
        child,
        port,
        _stdout: stdout,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_scenario_file() {
    let doc = include_str!("../../../docs/ib-sim.md");
    let start = doc.find("```json\n").unwrap() + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let path = std::env::temp_dir().join(format!("ib-sim-scenario-{}.json", std::process::id()));
    std::fs::write(&path, &doc[start..end]).unwrap();
    let sim = ib_sim(&["--scenario", path.to_str().unwrap()]);
    let gw = Gateway::connect(&IbConnectOptions::new("127.0.0.1", sim.port, 100))
        .await
        .unwrap();
    assert_eq!(
        gw.managed_accounts().await.unwrap(),
        ["DU111111", "DU222222"]
    );
    let batch = gw.executions(ExecutionFilter::default()).await.unwrap();
    assert_eq!(batch.executions.len(), 3);
    assert_eq!(
        batch.commissions.len(),
        1,
        "one inline, one after the end marker, one missing"
    );
    let spy = gw
        .positions()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.contract.symbol == "SPY")
        .unwrap();
    assert_eq!(spy.position, 0.0, "10 held, 10 sold");
    assert_eq!(gw.open_orders().await.unwrap().len(), 1);
    std::fs::remove_file(path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generator_with_a_fault_flag() {
    let sim = ib_sim(&["--generate", "2000", "--drop-after", "100"]);
    let gw = Gateway::connect(&IbConnectOptions::new("127.0.0.1", sim.port, 100))
        .await
        .unwrap();
    let err = gw.executions(ExecutionFilter::default()).await.unwrap_err();
    assert!(matches!(err, IbError::Disconnected { .. }), "{err:?}");
}
