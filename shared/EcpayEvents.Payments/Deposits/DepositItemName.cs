using System.Globalization;
using EcpayEvents.Ecpay;

namespace EcpayEvents.Payments.Deposits;

/// <summary>
/// The rule for a deposit's optional itemName (ECPay's ItemName): at most <see cref="MaxCharacters"/> and ECPay's 400
/// UTF-8 bytes, no '&amp;', '=' or control character (it is signed); <see cref="Problem"/> names the limit that was hit.
/// </summary>
public static class DepositItemName
{
    public const int MaxCharacters = 200;

    /// <summary>Why the item name is refused, or null when it is accepted.</summary>
    public static string? Problem(string itemName)
    {
        ArgumentNullException.ThrowIfNull(itemName);
        if (itemName.Trim().Length == 0)
            return "must not be blank.";
        // The item name is signed with the merchant key: '&' or '=' could make the signed checkout read as
        // another message (an ECPay post) under the same CheckMacValue; control characters are refused too.
        if (CheckMacValue.SeparatorProblem(itemName) is { } separator)
            return separator + " Separate items with '#'.";
        if (itemName.Any(char.IsSurrogate))
            return "must not contain emoji or other characters outside the Basic Multilingual Plane.";
        if (itemName.Length > MaxCharacters)
            return string.Create(CultureInfo.InvariantCulture, $"is {itemName.Length} characters; the limit is {MaxCharacters} characters and {CheckoutForm.MaxItemNameBytes} UTF-8 bytes (about 133 CJK characters).");
        var bytes = System.Text.Encoding.UTF8.GetByteCount(itemName);
        if (bytes > CheckoutForm.MaxItemNameBytes)
            return string.Create(CultureInfo.InvariantCulture, $"is {bytes} UTF-8 bytes; ECPay's limit is {CheckoutForm.MaxItemNameBytes} UTF-8 bytes (about 133 CJK characters; ASCII counts 1 byte, CJK 3).");
        return null;
    }
}
