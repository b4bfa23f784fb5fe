using Microsoft.AspNetCore.Http;

namespace EcpayEvents.Hosting;

/// <summary>
/// The request body, read as Kestrel gives it, except that a read that fails because of what the
/// client sent is a <see cref="BadHttpRequestException"/> (400). Kestrel throws a plain IOException for
/// some malformed bodies (a chunk size over 32 bits: "Bad chunk size data"), which would otherwise be
/// indistinguishable from a server fault and answered 500.
/// </summary>
internal sealed class ClientBodyStream(Stream inner, CancellationToken aborted) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try { return inner.Read(buffer, offset, count); }
        catch (IOException e) when (IsClientFault(e)) { throw Bad(e); }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try { return await inner.ReadAsync(buffer, cancellationToken); }
        catch (IOException e) when (IsClientFault(e)) { throw Bad(e); }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // A BadHttpRequestException already says what was wrong (413, 400); a reset connection is no answer's business.
    private bool IsClientFault(IOException e) => e is not BadHttpRequestException && !aborted.IsCancellationRequested;

    private static BadHttpRequestException Bad(IOException e) =>
        new("The request body could not be read.", StatusCodes.Status400BadRequest, e);

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
