using System.Text;

namespace EcpayEvents.Sandbox.Protocol;

/// <summary>
/// ECPay's URL encoding, written from ECPay's table (developers.ecpay.com.tw, 全方位金流 附錄 "URLEncode 轉換表",
/// column ".NET編碼(ecpay)"): letters and digits and <c>- _ . ! * ( )</c> stay, a space is <c>+</c>, every other
/// UTF-8 byte is <c>%XX</c>. Deliberately not <c>WebUtility.UrlEncode</c>: the product uses that.
/// </summary>
public static class EcpayUrlEncoding
{
    private const string Kept = "-_.!*()";

    public static string Encode(string text)
    {
        var result = new StringBuilder(text.Length * 2);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || Kept.Contains(c)) result.Append(c);
            else if (c == ' ') result.Append('+');
            else result.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return result.ToString();
    }
}
