using System.Globalization;

namespace EcpayEvents.Ecpay;

/// <summary>
/// ECPay's timestamps: <c>yyyy/MM/dd HH:mm:ss</c> in Taiwan time (AioCheckOut/V5 ?p=2864, field MerchantTradeDate). Taiwan is UTC+8 with no DST, so a
/// fixed offset is exact — no dependence on the server time zone or tzdata (InvariantGlobalization).
/// </summary>
public static class TaiwanTime
{
    public static readonly TimeSpan Offset = TimeSpan.FromHours(8);

    public const string DateTimeFormat = "yyyy/MM/dd HH:mm:ss";

    public const string DateFormat = "yyyy/MM/dd";

    /// <summary>The instant shown as Taiwan wall-clock time in ECPay's format.</summary>
    public static string Format(DateTimeOffset instant)
        => instant.ToOffset(Offset).ToString(DateTimeFormat, CultureInfo.InvariantCulture);

    public static DateTimeOffset ToTaiwan(DateTimeOffset instant) => instant.ToOffset(Offset);

    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (text is null)
        {
            return false;
        }
        if (!DateTime.TryParseExact(text, DateTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return false;
        }
        value = new DateTimeOffset(local, Offset);
        return true;
    }

    public static DateTimeOffset Parse(string text)
        => TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not a Taiwan time in the format {DateTimeFormat}.");

    /// <summary>
    /// Accepts <c>yyyy/MM/dd HH:mm:ss</c> or the date-only <c>yyyy/MM/dd</c> some posts use (ATM
    /// ExpireDate); a date alone means the end of that day (23:59:59) in Taiwan.
    /// </summary>
    public static bool TryParseDateOrDateTime(string? text, out DateTimeOffset value)
    {
        if (TryParse(text, out value))
        {
            return true;
        }
        if (text is not null && DateTime.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            value = new DateTimeOffset(day.AddDays(1).AddSeconds(-1), Offset);
            return true;
        }
        value = default;
        return false;
    }

    public static string FormatDate(DateTimeOffset instant)
        => instant.ToOffset(Offset).ToString(DateFormat, CultureInfo.InvariantCulture);
}

/// <summary>Lenient reading of the dates ECPay posts.</summary>
public static class EcpayDates
{
    private static readonly string[] Formats =
    [
        TaiwanTime.DateTimeFormat, "yyyy/MM/dd HH:mm", "yyyy/M/d H:mm:ss", "yyyy/M/d H:mm",
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "yyyy-MM-ddTHH:mm:ss",
    ];

    /// <summary>A Taiwan time in <c>yyyy/MM/dd HH:mm:ss</c> or a close variant (no seconds, no leading zeros, dashes).</summary>
    public static bool TryParseLenient(string? text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        if (!DateTime.TryParseExact(text.Trim(), Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)) return false;
        value = new DateTimeOffset(local, TaiwanTime.Offset);
        return true;
    }
}
