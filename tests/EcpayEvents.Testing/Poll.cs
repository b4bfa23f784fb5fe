using System.Diagnostics;

namespace EcpayEvents.Testing;

/// <summary>
/// Waits for an event by asking again and again, with a generous deadline (a busy 2-core machine is slow, never
/// wrong); when it never comes, throws a <see cref="TimeoutException"/> that says what was awaited and what was seen.
/// </summary>
public static class Poll
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Until <paramref name="read"/> returns a value <paramref name="done"/> accepts; returns that value.</summary>
    /// <param name="describe">What the last value says, for the timeout message.</param>
    /// <param name="interval">Pause between reads (default 50 ms); longer for a source that must go unread for a while to change.</param>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null, Func<T, string>? describe = null,
        TimeSpan? interval = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (clock.Elapsed > limit)
                throw new TimeoutException($"timed out after {limit.TotalSeconds:0.#} s waiting for {what}" + (describe is null ? "" : $": {describe(value)}"));
            await Task.Delay(interval ?? Interval);
        }
    }

    /// <summary>Until <paramref name="condition"/> holds.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<string>? describe = null) =>
        UntilAsync(condition, ok => ok, what, timeout, describe is null ? null : _ => describe());

    /// <summary>Until <paramref name="condition"/> holds.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? describe = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout, describe);
}
