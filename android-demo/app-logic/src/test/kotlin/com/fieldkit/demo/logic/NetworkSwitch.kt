// A loopback TCP relay in front of the real server with an off switch: the phone's network
// as the tests see it. Off closes every open connection and stops listening (connection
// refused, as in airplane mode); on listens again on the same port.
package com.fieldkit.demo.logic

import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.util.concurrent.CopyOnWriteArrayList

/** Relays loopback connections to `target` (an http:// URL) while switched on. */
class NetworkSwitch(target: String) : AutoCloseable {
    private val upstream = URI.create(target)
    private val open = CopyOnWriteArrayList<Socket>()
    private var listener: ServerSocket = listen(0)

    /** The port the phone connects to, stable across off/on. */
    val port: Int = listener.localPort

    /** The URL to open FieldKit with. */
    val url: String = "http://127.0.0.1:$port"

    /** Airplane mode on: drops open connections, refuses new ones. */
    @Synchronized
    fun off() {
        listener.close()
        open.forEach { runCatching { it.close() } }
        open.clear()
    }

    /** Back online. */
    @Synchronized
    fun on() {
        if (listener.isClosed) listener = listen(port)
    }

    override fun close() = off()

    private fun listen(port: Int): ServerSocket {
        val socket = ServerSocket()
        socket.reuseAddress = true
        socket.bind(InetSocketAddress(InetAddress.getLoopbackAddress(), port))
        daemon {
            try {
                while (true) relay(socket.accept())
            } catch (_: IOException) {
                // switched off
            }
        }
        return socket
    }

    private fun relay(phone: Socket) {
        val server = try {
            Socket(upstream.host, upstream.port)
        } catch (e: IOException) {
            phone.close()
            return
        }
        open.add(phone)
        open.add(server)
        daemon { pump(phone.getInputStream(), server.getOutputStream(), phone, server) }
        daemon { pump(server.getInputStream(), phone.getOutputStream(), phone, server) }
    }

    private fun pump(from: InputStream, to: OutputStream, a: Socket, b: Socket) {
        try {
            from.copyTo(to)
        } catch (_: IOException) {
            // one side closed
        } finally {
            runCatching { a.close() }
            runCatching { b.close() }
        }
    }

    private fun daemon(body: () -> Unit) {
        Thread(body).apply { isDaemon = true }.start()
    }
}
