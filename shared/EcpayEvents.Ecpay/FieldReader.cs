using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace EcpayEvents.Ecpay;

/// <summary>
/// Reads named fields from a form, throwing <see cref="EcpayPostException"/> that names the field.
/// Strict for what decides something (ids, codes, amounts, flags, ExpireDate); lenient for the
/// informational dates and fees (<see cref="OptionalDate"/>, <see cref="OptionalDecimal"/>).
/// </summary>
internal sealed class FieldReader(IReadOnlyList<KeyValuePair<string, string>> fields)
{
    private readonly Dictionary<string, string> _byKey = fields.GroupBy(f => f.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);

    public bool IsPresent(string name) => _byKey.ContainsKey(name);

    public string Optional(string name) => _byKey.GetValueOrDefault(name) ?? "";

    public string Required(string name)
    {
        if (!_byKey.TryGetValue(name, out var value))
        {
            throw new EcpayPostException(name, $"{name} is missing.");
        }
        if (value.Length == 0)
        {
            throw new EcpayPostException(name, $"{name} is empty.");
        }
        return value;
    }

    public int RequiredInt(string name)
    {
        var text = Required(name);
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new EcpayPostException(name, $"{name} '{text}' is not an integer.");
    }

    /// <summary>A TWD amount: a non-negative integer, no decimals, no separators.</summary>
    public long RequiredAmount(string name) => Amount(name, Required(name));

    /// <summary>An amount, or null when absent or empty.</summary>
    public long? OptionalAmount(string name) => Optional(name) is { Length: > 0 } text ? Amount(name, text) : null;

    private static long Amount(string name, string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new EcpayPostException(name, $"{name} '{text}' is not a whole non-negative amount.");

    /// <summary>
    /// An informational number (fees): null when absent, empty or not a number. Lenient on purpose: a
    /// value the settlement rules never use must not make a verified result (money received) unreadable.
    /// </summary>
    public decimal? OptionalDecimal(string name) =>
        decimal.TryParse(Optional(name), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>
    /// A Taiwan time (PaymentDate, TradeDate): <c>yyyy/MM/dd HH:mm:ss</c> or the variants seen in the wild
    /// (no seconds, no leading zeros, dashes); null when absent, empty or none of them. Lenient on purpose:
    /// callers that need an instant fall back (Settlement: to the time the post was received).
    /// </summary>
    public DateTimeOffset? OptionalDate(string name) => EcpayDates.TryParseLenient(Optional(name), out var value) ? value : null;

    public DateTimeOffset RequiredExpireDate(string name)
    {
        var text = Required(name);
        return TaiwanTime.TryParseDateOrDateTime(text, out var value)
            ? value
            : throw new EcpayPostException(name, $"{name} '{text}' is not a date ({TaiwanTime.DateFormat} or {TaiwanTime.DateTimeFormat}).");
    }

    /// <summary>"1" true; "0", empty or absent false; anything else rejected.</summary>
    public bool Flag(string name) => Optional(name) switch
    {
        "1" => true,
        "0" or "" => false,
        var other => throw new EcpayPostException(name, $"{name} '{other}' is neither 0 nor 1."),
    };

    public static bool Try<T>(Func<T> parse, [NotNullWhen(true)] out T? result, [NotNullWhen(false)] out string? error)
        where T : class
    {
        try
        {
            result = parse();
            error = null;
            return true;
        }
        catch (EcpayPostException e)
        {
            result = null;
            error = e.Message;
            return false;
        }
    }
}
