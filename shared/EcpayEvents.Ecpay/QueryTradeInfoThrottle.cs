namespace EcpayEvents.Ecpay;

/// <summary>
/// The in-process memory of ECPay's 403 block, shared by every <see cref="QueryTradeInfoClient"/> of a
/// service (a singleton: the typed HttpClient itself is transient). Thread-safe.
/// </summary>
public sealed class QueryTradeInfoThrottle
{
    private readonly Lock _lock = new();
    private DateTimeOffset _until = DateTimeOffset.MinValue;
    private string _body = "";

    /// <summary>The end of the current cool-down, or null when there is none at <paramref name="now"/>.</summary>
    public DateTimeOffset? CoolDownUntil(DateTimeOffset now)
    {
        lock (_lock)
        {
            return now < _until ? _until : null;
        }
    }

    internal bool TryGetCoolDown(DateTimeOffset now, out DateTimeOffset until, out string body)
    {
        lock (_lock)
        {
            (until, body) = (_until, _body);
            return now < _until;
        }
    }

    /// <summary>Starts (or extends, never shortens) the cool-down.</summary>
    internal void Block(DateTimeOffset until, string body)
    {
        lock (_lock)
        {
            if (until > _until)
            {
                (_until, _body) = (until, body);
            }
        }
    }

    /// <summary>Ends the cool-down now (an operator knows the block is over).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            (_until, _body) = (DateTimeOffset.MinValue, "");
        }
    }
}
