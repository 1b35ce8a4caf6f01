import DialerCore
import Foundation

/// The drain's progress: a redrawn bar on a terminal, a plain line every few seconds otherwise.
struct DrainProgress: Sendable {
    let total: Int
    let stats: WorkerStats
    let started: ContinuousClock.Instant
    let isTerminal = isatty(STDERR_FILENO) == 1

    func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: isTerminal ? .milliseconds(200) : .seconds(5)) } catch { return }
            draw()
        }
    }

    func draw() {
        let c = stats.snapshot
        let done = c.dialed + c.failed
        let rate = Double(c.settled) / max(0.001, (ContinuousClock.now - started).seconds)
        let summary = String(format: "%d/%d finished  dialed=%d failed=%d retrying=%d deferred=%d  %.0f jobs/s", done, total, c.dialed, c.failed,
                             c.retried, c.deferred, rate)
        if isTerminal {
            let width = 30
            let filled = total == 0 ? width : min(width, done * width / max(total, 1))
            printErrorNoNewline("\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(summary)\u{1B}[K")
        } else {
            printError("drain: \(summary)")
        }
    }

    func finish() {
        if isTerminal {
            draw()
            printError("")
        }
    }
}
