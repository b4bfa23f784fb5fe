using System.Globalization;
using System.Security.Cryptography;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// MerchantTradeNo: prefix + the creation time in milliseconds, base 36 (9 characters, sortable, good
/// until the year 5188) + random base-36 characters up to 20 in all. ECPay rejects a reused number
/// forever; the unique index makes reuse impossible, and a (vanishingly rare) collision is retried.
/// </summary>
public static class MerchantTradeNumber
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    public const int Length = 20;

    public static string New(string prefix, DateTimeOffset now)
    {
        var chars = new char[Length];
        prefix.CopyTo(0, chars, 0, prefix.Length);
        var ms = now.ToUnixTimeMilliseconds();
        for (var i = prefix.Length + 8; i >= prefix.Length; i--)
        {
            chars[i] = Alphabet[(int)(ms % 36)];
            ms /= 36;
        }
        for (var i = prefix.Length + 9; i < Length; i++)
            chars[i] = Alphabet[RandomNumberGenerator.GetInt32(36)];
        return new string(chars);
    }

    public static bool IsWellFormed(string? value) =>
        value is { Length: >= 1 and <= Length } && value.All(char.IsAsciiLetterOrDigit);

    internal static string Describe(long amount) => string.Create(CultureInfo.InvariantCulture, $"Deposit {amount} TWD");
}
