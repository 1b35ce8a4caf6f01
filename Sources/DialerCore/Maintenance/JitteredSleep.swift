import ServiceLifecycle

/// Sleeps `interval` scaled by a factor drawn uniformly from `factors` (0.8...1.2: +-20%), so a fleet started together
/// does not query in lockstep. Every background loop waits through this one helper.
///
/// Throws, ending the wait early, when the task is cancelled or its service group starts a graceful shutdown: a loop
/// that catches it returns, and shutdown never waits for a sleeping loop.
func sleep(for interval: Duration, scaledBy factors: ClosedRange<Double> = 0.8...1.2) async throws {
    let factor = factors.lowerBound == factors.upperBound ? factors.lowerBound : Double.random(in: factors)
    let nanoseconds = Int64((Double(interval.components.seconds) * 1e9 + Double(interval.components.attoseconds) / 1e9) * factor)
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: .nanoseconds(max(0, nanoseconds))) }
}
