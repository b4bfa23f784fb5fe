namespace EcpayEvents.Sandbox;

/// <summary>
/// QueryTradeInfo's "calling too fast" rule (查詢訂單 ?p=2890: "呼叫 API 的速度太快，會收到 HTTP Status Code 403 …
/// 等候 30 分鐘"): over <see cref="SandboxBehaviour.QueryRateLimit"/> calls in the window, every call answers 403
/// until the block ends. Counts calls and 403s for the tests.
/// </summary>
public sealed class QueryGate(SandboxBehaviour behaviour, TimeProvider time)
{
    private readonly Lock gate = new();
    private readonly Queue<DateTimeOffset> recent = new();
    private DateTimeOffset blockedUntil = DateTimeOffset.MinValue;

    public int Calls { get; private set; }
    public int Refused { get; private set; }
    public DateTimeOffset? BlockedUntil { get { lock (gate) return time.GetUtcNow() < blockedUntil ? blockedUntil : null; } }

    /// <summary>True when this call may be answered; false when it gets a 403.</summary>
    public bool Admit()
    {
        lock (gate)
        {
            var now = time.GetUtcNow();
            Calls++;
            if (now < blockedUntil) { Refused++; return false; }
            recent.Enqueue(now);
            while (recent.Count > 0 && recent.Peek() <= now - behaviour.QueryRateWindow) recent.Dequeue();
            if (behaviour.QueryRateLimit > 0 && recent.Count > behaviour.QueryRateLimit)
            {
                blockedUntil = now + behaviour.QueryBlock;
                recent.Clear();
                Refused++;
                return false;
            }
            return true;
        }
    }

    public void Reset()
    {
        lock (gate) { blockedUntil = DateTimeOffset.MinValue; recent.Clear(); Calls = 0; Refused = 0; }
    }
}
