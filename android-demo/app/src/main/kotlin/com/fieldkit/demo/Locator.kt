// The rep's position as FieldKit wants it: the OS's current fix as a LocationFix, with its
// accuracy, age, provider and mock flag (the engine judges check-ins on all of them).
package com.fieldkit.demo

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationManager
import android.os.Build
import com.fieldkit.core.model.LocationFix
import com.fieldkit.core.model.LocationProvider
import com.fieldkit.core.model.WgsPoint
import kotlinx.coroutines.suspendCancellableCoroutine
import java.util.concurrent.Executors
import kotlin.coroutines.resume

/** Reads one fix from the OS; null without permission or a provider. */
class Locator(context: Context) {
    private val manager = context.getSystemService(LocationManager::class.java)
    private val executor = Executors.newSingleThreadExecutor()

    /** The current fix (Android 11+), else the last known one; null if none. Needs the permission. */
    @SuppressLint("MissingPermission")
    suspend fun currentFix(): LocationFix? {
        val location: Location? = try {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                suspendCancellableCoroutine { cont ->
                    manager.getCurrentLocation(LocationManager.GPS_PROVIDER, null, executor) { cont.resume(it) }
                }
            } else {
                manager.getLastKnownLocation(LocationManager.GPS_PROVIDER)
                    ?: manager.getLastKnownLocation(LocationManager.NETWORK_PROVIDER)
            }
        } catch (_: SecurityException) {
            null
        }
        return location?.let(::toFix)
    }

    private fun toFix(location: Location): LocationFix = LocationFix(
        point = WgsPoint(location.latitude, location.longitude),
        accuracyM = location.accuracy.toDouble(),
        fixTimeMs = location.time,
        provider = when (location.provider) {
            LocationManager.GPS_PROVIDER -> LocationProvider.GNSS
            LocationManager.NETWORK_PROVIDER -> LocationProvider.NETWORK
            LocationManager.FUSED_PROVIDER -> LocationProvider.FUSED
            else -> LocationProvider.OTHER
        },
        isMock = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) location.isMock else @Suppress("DEPRECATION") location.isFromMockProvider,
    )
}
