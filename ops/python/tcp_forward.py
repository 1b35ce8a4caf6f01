"""A TCP forwarder: listens on LISTEN_HOST:LISTEN_PORT and relays every connection to TARGET_HOST:TARGET_PORT. The fleet
test runs one inside each worker host's network namespace, so a worker reaches the fake Twilio at a loopback address
(the only kind DIALER_GATE_TIME accepts) while the traffic still crosses that host's own link. Standard library only.

Usage: python3 tcp_forward.py LISTEN_HOST:LISTEN_PORT TARGET_HOST:TARGET_PORT
"""
import asyncio
import sys

listen_host, listen_port = sys.argv[1].rsplit(":", 1)
target_host, target_port = sys.argv[2].rsplit(":", 1)


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def relay(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(target_host, int(target_port))
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def main():
    server = await asyncio.start_server(relay, listen_host, int(listen_port))
    print(f"tcp-forward: {sys.argv[1]} -> {sys.argv[2]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
