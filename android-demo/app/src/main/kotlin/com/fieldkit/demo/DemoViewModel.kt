// The androidx ViewModel that owns the app's one FieldKit and the plain-Kotlin
// RepDayViewModel, so both survive rotation; FieldKit is closed when the ViewModel is cleared.
package com.fieldkit.demo

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import com.fieldkit.core.FieldKit
import com.fieldkit.demo.logic.Action
import com.fieldkit.demo.logic.FieldKitBackend
import com.fieldkit.demo.logic.RepDayViewModel
import com.fieldkit.demo.logic.userMessage
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import java.io.File

/** Holds FieldKit (opened on the app's private database) and the rep-day view model. */
class DemoViewModel(application: Application) : AndroidViewModel(application) {
    private val opened: Result<FieldKit> = runCatching {
        FieldKit.open(
            File(application.filesDir, "fieldkit.db").path,
            BuildConfig.FIELDKIT_SERVER_URL,
            BuildConfig.FIELDKIT_ORG,
        )
    }

    /** Why FieldKit could not open (a database from a newer app, a broken disk), or null. */
    val openError: String? = opened.exceptionOrNull()?.let { userMessage(it, Action.EDIT).text }

    /** The rep day (state and actions, run on Dispatchers.IO in viewModelScope); null if FieldKit did not open. */
    val repDay: RepDayViewModel? = opened.getOrNull()?.let { kit ->
        RepDayViewModel(FieldKitBackend(kit), viewModelScope).also { it.start() }
    }

    /** The phone's position for check-in, photos and planning. */
    val locator = Locator(application)

    init {
        // The watermark needs CJK glyphs: Android ships Noto Sans CJK. Without it, taking a
        // photo reports that the photo pipeline is not configured.
        opened.getOrNull()?.let { kit ->
            viewModelScope.launch(Dispatchers.IO) {
                val font = File("/system/fonts/NotoSansCJK-Regular.ttc")
                if (font.isFile) runCatching { kit.configurePhotos(font.readBytes(), 0u, null) }
            }
        }
    }

    override fun onCleared() {
        opened.getOrNull()?.close()
    }
}
